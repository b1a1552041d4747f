#pragma once

#include "config/config.hpp"
#include "flow/call_registry.hpp"
#include "flow/commands.hpp"
#include "flow/events.hpp"

#include <string>

namespace talkgate::flow {

// What the flow reports for metrics; the default does nothing.
class FlowObserver {
  public:
    virtual ~FlowObserver() = default;
    virtual void notify_received(const NotifyReceived&) {}
    virtual void notify_unmatched(const NotifyReceived&) {}
    // A value from the wire dropped for its bytes (`where` names it), the call goes on.
    virtual void header_dropped(const char* /*where*/) {}
    // A NOTIFY refused by the flow (label `reason` of talkgate_notify_rejected_total).
    virtual void notify_rejected(const NotifyReceived&, const char* /*reason*/) {}
    // The answer commands went out; `since_notify` is from the NOTIFY talk (0 without one).
    virtual void answer_requested(const Call&, std::chrono::nanoseconds /*since_notify*/) {}
    virtual void genesys_answered(const Call&, std::chrono::nanoseconds /*since_notify*/) {}
    virtual void call_ended(const Call&, const std::string& /*outcome*/) {}
    virtual void active_calls(std::size_t) {}
    virtual void resync_repair(const std::string& /*action*/) {}
};

// Why the flow asks the agent side to answer: the policy and the commands depend on it.
enum class AnswerReason {
    notify_talk,        // NOTIFY talk while the agent rings
    early_notify_talk,  // NOTIFY talk that came before the agent rang, acted on at ringing
    policy_immediate,   // ANSWER_POLICY immediate: the INVITE asked the phone to answer itself
    manual,             // an operator through the status API; also under policy off
};
const char* to_string(AnswerReason reason);

enum class ManualAnswerOutcome { requested, no_such_call, not_ringing };

struct ManualAnswerResult {
    ManualAnswerOutcome outcome;
    std::string detail;
    Commands commands;
};

// The call flow: (state, event) -> (new state, commands). Pure: no I/O, no clock of its own,
// no threads; the controller runs it on one executor and carries out its commands.
class CallFlow {
  public:
    CallFlow(const Config& config, FlowObserver& observer);

    Commands handle(const Event& event, TimePoint now);
    ManualAnswerResult answer_manually(const std::string& dn, TimePoint now);

    const CallRegistry& registry() const { return registry_; }

    // A step the flow did not take itself (an answer action's outcome): added to the trace of
    // the call with this key, live or recently ended; nothing else changes.
    void record(const std::string& call_key, TraceStep step);
    // A NOTIFY the gate dropped as already seen: traced on the call it names, nothing else.
    void note_duplicate(const NotifyReceived& n, TimePoint now);

  private:
    Commands on(const GenesysLegEntered& e, TimePoint now);
    Commands on(const AgentLegEntered& e, TimePoint now);
    Commands on(const ChannelRinging& e, TimePoint now);
    Commands on(const ChannelAnswered& e, TimePoint now);
    Commands on(const BridgeEstablished& e, TimePoint now);
    Commands on(const NotifyReceived& e, TimePoint now);
    Commands on(const ChannelGone& e, TimePoint now);
    Commands on(const HangupCause& e, TimePoint now);
    Commands on(const CommandFailed& e, TimePoint now);
    Commands on(const TimerFired& e, TimePoint now);
    Commands on(const Resync& e, TimePoint now);

    void act_on_notify(Call& call, const NotifyReceived& n, TimePoint now, Commands& out);
    void adopt(const ChannelSnapshot& genesys, const ChannelSnapshot* agent, bool bridged,
               const std::string& bridge, TimePoint now, Commands& out);
    void reconcile(Call& call, const ChannelSnapshot& genesys, const ChannelSnapshot& agent,
                   TimePoint now, Commands& out);
    void replay_recorded_notify(Call& call, const ChannelSnapshot& genesys, TimePoint now,
                                Commands& out);
    void start_ring_timer(Call& call, std::chrono::milliseconds after, Commands& out);

    Call* match(const NotifyReceived& n);
    void request_answer(Call& call, TimePoint now, Commands& out, AnswerReason why);
    void reject_genesys(Call& call, int cause, const std::string& outcome, TimePoint now,
                        Commands& out);
    void end(Call& call, const std::string& outcome, TimePoint now, Commands& out);
    void trace(Call& call, TraceKind kind, TimePoint at);
    void trace(Call& call, TraceStep step);

    const Config& config_;
    FlowObserver& observer_;
    CallRegistry registry_;
    std::uint64_t next_timer_ = 1;
};

// Q.850 causes talkgate uses to answer Genesys (Asterisk maps them to SIP responses).
namespace cause {
constexpr int normal_clearing = 16;
constexpr int user_busy = 17;         // 486 Busy Here
constexpr int no_user_response = 18;  // 408 Request Timeout
constexpr int no_answer = 19;
constexpr int subscriber_absent = 20;  // 480 Temporarily Unavailable
constexpr int unallocated = 1;         // 404
}  // namespace cause

}  // namespace talkgate::flow
