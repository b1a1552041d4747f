#pragma once

#include "config/config.hpp"
#include "flow/events.hpp"
#include "status/status_source.hpp"

#include <ari/event_stream.hpp>
#include <ari/models.hpp>
#include <ari/rest_client.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace talkgate::ami {
class Client;
struct ConnectionState;
}  // namespace talkgate::ami
namespace talkgate::metrics {
struct TalkgateMetrics;
}

namespace talkgate::controller {

// Owns what the peers' connections mean to talkgate: readiness, the connection metrics, and
// the resync after every ARI (re)connect and AMI reconnect (Asterisk keeps no events for a
// disconnected app: talkgate rebuilds from its lists). Also reads the clients' drop counters
// once a second. State handlers run on the io thread; readiness() from any thread.
class ConnectionSupervisor : public std::enable_shared_from_this<ConnectionSupervisor> {
  public:
    struct Hooks {
        std::function<void(flow::Resync)> resync;    // Asterisk's lists, for the flow
        std::function<void(bool)> ami_up;            // AMI logged in (true) or lost (false)
        std::function<std::size_t()> tracked_calls;  // for the resync log line
    };

    ConnectionSupervisor(boost::asio::io_context& io, const Config& config,
                         metrics::TalkgateMetrics& metrics, std::shared_ptr<ari::RestClient> ari,
                         Hooks hooks);

    void on_ari_state(const ari::ConnectionState& st);
    void on_ami_state(const ami::ConnectionState& st);
    void hep_listening();

    // Asks Asterisk for its app, channels and bridges (three requests whatever the number of
    // calls) and hands them to the flow as one Resync.
    void resync();
    // PUT /applications/{app}/eventFilter: only the event types the flow reads.
    void set_event_filter();

    // Reads the ARI and AMI clients' drop counters into talkgate_events_dropped_total every
    // second until stop().
    void watch_drops(std::shared_ptr<ari::EventStream> events, std::shared_ptr<ami::Client> ami);
    void stop();

    status::Readiness readiness() const;

  private:
    void count_dropped_events();

    boost::asio::io_context& io_;
    const Config& config_;
    metrics::TalkgateMetrics& metrics_;
    std::shared_ptr<ari::RestClient> ari_;
    Hooks hooks_;
    std::shared_ptr<ari::EventStream> events_;  // watched for drops
    std::shared_ptr<ami::Client> ami_;          // watched for drops
    std::atomic<bool> ari_up_{false};
    std::atomic<bool> ami_up_{false};
    std::atomic<bool> hep_up_{false};
    bool ami_seen_up_ = false;  // an AMI connect after the first is a reconnect: resync
    boost::asio::steady_timer drop_poll_{io_};  // reads the clients' drop counters
    std::atomic<bool> stopping_{false};         // stop() was called: no more polling
};

// ARI's creationtime, e.g. 2026-11-30T22:48:47.541+0000.
std::optional<std::chrono::system_clock::time_point> parse_ari_time(const std::string& text);

// The flow's Resync from Asterisk's lists: the app's channel ids, every channel, every bridge;
// `wall_now` dates the channels' ages.
flow::Resync resync_from(const std::vector<std::string>& in_app,
                         const std::vector<ari::Channel>& channels,
                         const std::vector<ari::Bridge>& bridges,
                         std::chrono::system_clock::time_point wall_now);

}  // namespace talkgate::controller
