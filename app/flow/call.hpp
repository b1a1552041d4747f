#pragma once

#include "config/config.hpp"
#include "flow/call_trace.hpp"
#include "intake/notify_kind.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace talkgate::flow {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

// The states of one Genesys call, as in the SIP ladder (see README "The call flow").
enum class CallState {
    offered,           // Genesys leg entered the app; agent leg being created
    dialing,           // agent leg dialled, not ringing yet
    ringing,           // agent rings; Genesys got its 180
    answer_requested,  // NOTIFY talk (or policy) told the agent side to answer
    bridging,          // the agent answered: Genesys leg being answered, both legs bridged
    connected,         // both legs up in one bridge
    held,              // Genesys asked for hold; agent side told to hold
    ended,
};

const char* to_string(CallState state);

using intake::NotifyKind;  // one vocabulary from the intake to the flow

// A NOTIFY from Genesys, already de-duplicated by the intake.
struct NotifyReceived {
    NotifyKind kind = NotifyKind::other;
    std::string event_name;  // the Event header's package, e.g. "talk"
    std::string call_id;     // SIP Call-ID of the Genesys leg
    std::string dn;          // To user
    std::string call_uuid;   // X-Genesys-CallUUID, may be empty
    std::uint32_t cseq = 0;
    std::string source;  // hep, ami, ari, manual
    TimePoint received_at{};
    // User events (AMI/ARI) name the channel they were raised on; such a NOTIFY acts only when
    // that is the call's Genesys leg, so no other channel can answer or hold a call.
    bool from_channel = false;
    std::string channel;
};

// The agent answered: from bridging on, the call has (or is getting) its bridge.
inline bool agent_answered(CallState s) {
    return s == CallState::bridging || s == CallState::connected || s == CallState::held;
}

// One tracked call. Its key is the Genesys leg's ARI channel id. The registry indexes key,
// genesys_channel, agent_channel, call_id and dn: only CallRegistry changes them once added.
struct Call {
    std::string key;
    std::string dn;
    std::string call_id;
    std::string call_uuid;
    std::string genesys_channel;
    std::string genesys_channel_name;
    std::string agent_channel;       // ARI id, chosen by talkgate at create
    std::string agent_channel_name;  // e.g. PJSIP/1002-0000000b, for AMI PJSIPNotify
    std::string bridge;
    AnswerPolicy policy = AnswerPolicy::notify;
    CallState state = CallState::offered;
    int agent_cause = 0;           // the agent leg's end cause, when known before it is gone
    bool pending_talk = false;     // NOTIFY talk before the agent rang: act at ringing
    std::uint64_t ring_timer = 0;  // id of the live no-answer timer (0: none)
    TimePoint created{};
    std::optional<TimePoint> ringing_at;
    std::optional<TimePoint> notify_talk_at;  // when the (first) NOTIFY talk arrived
    std::optional<TimePoint> answered_at;     // when the Genesys leg was answered
    CallTrace trace;                          // the ladder so far (bounded: CALL_TRACE_STEPS)
    std::string outcome;                      // once ended: busy, genesys_hangup, ...
    std::optional<TimePoint> ended_at;
};

}  // namespace talkgate::flow
