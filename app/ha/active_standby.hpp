#pragma once

#include "config/config.hpp"
#include "ha/call_directory.hpp"
#include "ha/gateway_lease.hpp"
#include "ha/redis_client.hpp"
#include "status/status_source.hpp"

#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>
#include <string>

namespace talkgate::controller {
class Controller;
}
namespace talkgate::metrics {
struct TalkgateMetrics;
}

namespace talkgate::ha {

// One talkgate of an active/standby pair (REDIS_URL set): the controller starts (ARI, AMI,
// HEP; its resync adopts the live calls) only once this process holds the gateway's lease,
// and the process ends when another one was elected meanwhile (systemd or Docker start it
// again, as a standby). Also the status API's source: the controller's, plus the role and
// every gateway's calls.
class ActiveStandby : public status::StatusSource {
  public:
    // Exit code when another talkgate took the lease (EX_TEMPFAIL): start again as standby.
    static constexpr int kSteppedDown = 75;

    ActiveStandby(boost::asio::io_context& io, const Config& config,
                  metrics::TalkgateMetrics& metrics, controller::Controller& controller,
                  std::function<void(int exit_code)> end_process);
    ActiveStandby(const ActiveStandby&) = delete;
    ActiveStandby& operator=(const ActiveStandby&) = delete;

    bool start(std::string& error);
    void stop();

    // status::StatusSource: the controller's answers; readiness with the role.
    void calls(std::function<void(std::vector<status::CallView>)> done) override;
    // Every gateway's: this one's from the controller, the others' from Redis.
    void all_calls(std::function<void(std::vector<status::CallView>)> done) override;
    status::Readiness readiness() const override;
    void request_answer(const std::string& dn,
                        std::function<void(status::AnswerOutcome, std::string)> done) override;
    void trace(const std::string& id,
               std::function<void(std::optional<status::TraceView>)> done) override;
    void recent_calls(std::function<void(std::vector<status::RecentCallView>)> done) override;
    void live(std::function<void(status::LiveView)> done) override;
    void watch(std::weak_ptr<status::LiveWatcher> watcher) override;

  private:
    void activate(std::int64_t fence);

    boost::asio::io_context& io_;
    const Config& config_;
    metrics::TalkgateMetrics& metrics_;
    controller::Controller& controller_;
    std::function<void(int)> end_process_;
    std::shared_ptr<RedisClient> redis_;
    std::shared_ptr<GatewayLease> lease_;
    std::shared_ptr<CallDirectory> directory_;  // publishes while active, reads for scope=all
};

// The lease key of a gateway: talkgate:lease:{<ARI app>@<gateway id>}.
std::string lease_key(const std::string& ari_app, const std::string& gateway_id);

}  // namespace talkgate::ha
