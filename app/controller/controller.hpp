#pragma once

#include "config/config.hpp"
#include "flow/call_flow.hpp"
#include "status/status_source.hpp"

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <memory>
#include <string>

namespace talkgate::metrics {
struct TalkgateMetrics;
}

namespace talkgate::controller {

// talkgate itself: owns the call flow and every adapter around it (ARI events and REST, AMI,
// HEP, bridge API, timers). All call state lives on the io_context's thread; adapters post to
// it, and the flow's commands go out asynchronously from it.
class Controller : public status::StatusSource {
  public:
    Controller(boost::asio::io_context& io, const Config& config,
               metrics::TalkgateMetrics& metrics);
    ~Controller() override;
    Controller(const Controller&) = delete;
    Controller& operator=(const Controller&) = delete;

    // Binds the HEP listener and starts the ARI and AMI connections. False with one line per
    // problem when something cannot start (e.g. the HEP port is taken).
    bool start(std::string& error);
    void stop();

    // status::StatusSource
    void calls(std::function<void(std::vector<status::CallView>)> done) override;
    status::Readiness readiness() const override;
    void request_answer(const std::string& dn,
                        std::function<void(status::AnswerOutcome, std::string)> done) override;
    void trace(const std::string& id,
               std::function<void(std::optional<status::TraceView>)> done) override;
    void recent_calls(std::function<void(std::vector<status::RecentCallView>)> done) override;
    void live(std::function<void(status::LiveView)> done) override;
    void watch(std::weak_ptr<status::LiveWatcher> watcher) override;

    // The HEP port actually bound (for HEP_LISTEN with port 0).
    unsigned short hep_port() const;

  private:
    class Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace talkgate::controller
