#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

// The contract between the status API and the controller: the server asks, the controller
// answers through callbacks, so the server never blocks the controller's executor.
namespace talkgate::status {

struct CallView {
    std::string id, dn, state, call_id, call_uuid, genesys_channel, agent_channel, bridge, policy;
    std::int64_t created_ms = 0;
    std::optional<std::int64_t> ringing_ms, notify_talk_ms, answered_ms;
    bool held = false;
};

// One step of a call's ladder (see flow/call_trace.hpp); empty strings and 0 are "not given".
struct TraceStepView {
    double t_ms = 0;         // since the call was created, from the monotonic clock
    std::int64_t at_ms = 0;  // epoch milliseconds
    std::string step, event, source, outcome;
    int cause = 0;
    bool duplicate = false;
    std::optional<double> latency_ms;
};

// A call, live or ended, with its ladder.
struct TraceView {
    CallView call;
    bool live = true;
    std::string outcome;  // once ended
    std::optional<std::int64_t> ended_ms;
    std::vector<TraceStepView> steps;
    std::uint64_t dropped_steps = 0;
};

// An ended call kept for GET /calls/recent.
struct RecentCallView {
    CallView call;
    std::string outcome;
    std::int64_t ended_ms = 0;
    std::size_t steps = 0;
};

struct Readiness {
    bool ari_required, ari_up, ami_required, ami_up, hep_required, hep_up;
    // Active/standby (REDIS_URL): a standby is ready without ARI, AMI or HEP.
    bool standby = false;
    bool redis_configured = false;
    bool redis_up = false;
};

enum class AnswerOutcome { requested, no_such_call, not_ringing };

class StatusSource {  // implemented by the controller; callbacks may be called on any thread
  public:
    virtual ~StatusSource() = default;
    virtual void calls(std::function<void(std::vector<CallView>)> done) = 0;  // all live calls
    virtual Readiness readiness() const = 0;                                  // cheap, thread-safe
    virtual void request_answer(const std::string& dn,
                                std::function<void(AnswerOutcome, std::string detail)> done) = 0;
    // The call with this id (the Genesys leg's channel id), live or recently ended; nullopt
    // when talkgate knows none.
    virtual void trace(const std::string& id,
                       std::function<void(std::optional<TraceView>)> done) = 0;
    virtual void recent_calls(
        std::function<void(std::vector<RecentCallView>)> done) = 0;  // newest first
};

}  // namespace talkgate::status
