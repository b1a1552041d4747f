#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace talkgate::flow {

// One step of a call's ladder, as an operator reads it against a SIP trace.
enum class TraceKind {
    stasis_entered,     // the Genesys leg entered the app
    adopted,            // talkgate took the call over after a restart or reconnect
    agent_leg_created,  // POST /channels/create for the agent leg went out
    agent_dialled,      // the agent leg entered the app and was dialled
    agent_ringing,      // the agent's 180
    genesys_rung,       // Genesys got its 180 (ARI ring)
    notify,             // a NOTIFY from Genesys (event, source, duplicate or not)
    answer_requested,   // the answer commands went out (outcome: why)
    answer_action,      // PJSIPNotify / bridge /answer / bridge notify done (outcome, latency)
    agent_answered,     // the agent's 200
    bridged,            // Genesys answered and both legs in the bridge
    hold,
    retrieve,
    ring_timeout,  // the agent rang AGENT_RING_TIMEOUT_S without answering
    hangup,        // a leg hung up (side, cause)
    ended,         // the call's outcome
};

const char* to_string(TraceKind kind);

struct TraceStep {
    std::chrono::steady_clock::time_point at;  // monotonic: differences are exact
    TraceKind kind = TraceKind::stasis_entered;
    std::string event;       // NOTIFY event; the agent notify's event (talk, hold)
    std::string source;      // NOTIFY source (hep, ami, ari, recorded); answer path; hangup side
    std::string outcome;     // answer action outcome (ok, error, timeout); end outcome; repair
    int cause = 0;           // Q.850 cause of a hangup (0: unknown)
    bool duplicate = false;  // a NOTIFY already acted on (retransmission or second source)
    std::optional<std::chrono::nanoseconds> latency;  // of an answer action
};

// A call's steps, bounded: past `limit` steps only the hangup and end steps are still kept (so
// a long call's last word is never lost), the rest are counted in `dropped`.
class CallTrace {
  public:
    void add(std::size_t limit, TraceStep step) {
        const bool last_words = step.kind == TraceKind::hangup || step.kind == TraceKind::ended;
        if (limit == 0 || (steps_.size() >= limit && !(last_words && steps_.size() < limit + 2))) {
            ++dropped_;
            return;
        }
        // One allocation when the call enters, none later on the answer path.
        if (steps_.capacity() == 0) steps_.reserve(limit < 24 ? limit + 2 : 24);
        steps_.push_back(std::move(step));
    }
    void add_first(std::size_t limit, TraceStep step) {
        if (limit == 0) return;
        steps_.insert(steps_.begin(), std::move(step));
        if (steps_.size() > limit + 2) {
            steps_.pop_back();
            ++dropped_;
        }
    }
    const std::vector<TraceStep>& steps() const { return steps_; }
    std::uint64_t dropped() const { return dropped_; }

  private:
    std::vector<TraceStep> steps_;
    std::uint64_t dropped_ = 0;
};

}  // namespace talkgate::flow
