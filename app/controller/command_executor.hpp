#pragma once

#include "bridge/bridge_api_client.hpp"
#include "config/config.hpp"
#include "flow/call.hpp"
#include "flow/commands.hpp"
#include "logging/rate_limit.hpp"
#include "wire/cidr.hpp"

#include <ari/handler_guard.hpp>
#include <ari/rest_client.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

namespace talkgate::ami {
class Client;
}
namespace talkgate::metrics {
struct TalkgateMetrics;
enum class AnswerPath;
enum class ActionOutcome;
}  // namespace talkgate::metrics

namespace talkgate::controller {

// Carries out the call flow's commands: ARI REST for legs, bridges and channel variables, AMI
// PJSIPNotify (kept while AMI is down, sent when it is back if the call still wants it), the
// bridge API (with the agent's contact host when the URL needs it), and the flow's timers.
// What the flow must learn (a failure, a bridge up, a timer) comes back through `dispatch`.
// Lives on the io thread; the peers it calls post their completions there.
class CommandExecutor : public std::enable_shared_from_this<CommandExecutor> {
  public:
    using Dispatch = std::function<void(const flow::Event&)>;
    // The flow's live call with this key, or null (a kept PJSIPNotify is checked against it).
    using FindCall = std::function<const flow::Call*(const std::string& key)>;
    // A step for the trace of the call with this key (an answer action's outcome and latency).
    using Trace = std::function<void(const std::string& key, flow::TraceStep step)>;
    struct Peers {
        std::shared_ptr<ari::RestClient> ari;
        std::shared_ptr<ami::Client> ami;
        std::shared_ptr<bridge::BridgeApiClient> bridge;
    };

    CommandExecutor(boost::asio::io_context& io, const Config& config,
                    metrics::TalkgateMetrics& metrics, Peers peers,
                    std::shared_ptr<ari::HandlerGuard> guard, FindCall find_call,
                    Dispatch dispatch);

    void run(const flow::Commands& commands);
    // Where answer actions' outcomes go besides the metrics; unset: nowhere.
    void on_trace(Trace trace) { trace_ = std::move(trace); }

    // AMI's connection state: when it comes up, the PJSIPNotifys it missed go out.
    void ami_up(bool up);
    // The call ended: nothing kept for it is sent any more.
    void call_ended(const std::string& call_key);
    // Cancels the timers; no TimerFired after this.
    void stop();

    std::size_t kept_notifies() const { return pending_notifies_.size(); }

  private:
    void exec(const flow::CreateAgentLeg& c);
    void exec(const flow::DialAgent& c);
    void exec(const flow::RingGenesys& c);
    void exec(const flow::AnswerAndBridge& c);
    void exec(const flow::HangupChannel& c);
    void exec(const flow::SetChannelVar& c);
    void exec(const flow::DestroyBridge& c);
    void exec(const flow::StartTimer& c);
    void exec(const flow::SendAgentNotify& c);
    void exec(const flow::BridgeApiAnswer& c);
    void exec(const flow::BridgeApiNotify& c);

    template <class T>
    std::function<void(ari::Result<T>)> failure_to_flow(std::string key, flow::CommandKind kind);
    void keep_notify(const flow::SendAgentNotify& c);
    void bridge_done(const std::string& key, const std::string& event, bool answer,
                     const bridge::BridgeApiClient::Outcome& o, const std::string& who);
    // One answer action is done: counted, and traced on its call.
    void action_done(const std::string& key, metrics::AnswerPath path, const std::string& event,
                     metrics::ActionOutcome outcome,
                     std::optional<std::chrono::nanoseconds> latency = std::nullopt);
    // Runs `f` with the agent's contact host; when there is none to use, `path` fails for `key`.
    void with_contact_host(const std::string& key, const std::string& event,
                           metrics::AnswerPath path, const std::string& dn,
                           std::function<void(const std::string&)> f);

    boost::asio::io_context& io_;
    const Config& config_;
    metrics::TalkgateMetrics& metrics_;
    Peers peers_;
    std::shared_ptr<ari::HandlerGuard> guard_;
    FindCall find_call_;
    Dispatch dispatch_;
    Trace trace_;
    bool ami_up_ = false;
    std::unordered_map<std::uint64_t, std::shared_ptr<boost::asio::steady_timer>> timers_;
    // The agent's registered contact host per DN, with when it was read (kept 30 s).
    std::unordered_map<std::string, std::pair<std::string, flow::TimePoint>> contact_hosts_;
    struct PendingNotify {
        flow::SendAgentNotify command;
        flow::CallState wanted_in;  // the call's state when it was sent
    };
    std::unordered_map<std::string, PendingNotify> pending_notifies_;  // by call key
    logging::RateLimit contact_refused_log_;  // one line per 10 s for refused contact hosts
    wire::HostAllowList contact_allow_;       // BRIDGE_API_CONTACT_ALLOW
};

}  // namespace talkgate::controller
