#pragma once

#include "flow/call.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace talkgate::flow {

// What the outside world tells the call flow. Adapters build these; only the flow acts on them.

// StasisStart of a call from Genesys (dialplan args: DN, Call-ID, CallUUID).
struct GenesysLegEntered {
    std::string channel_id;
    std::string channel_name;
    std::string dn;
    std::string call_id;
    std::string call_uuid;
};

// StasisStart of the agent leg talkgate created (appArgs: talkgate-agent,<call key>).
struct AgentLegEntered {
    std::string channel_id;
    std::string channel_name;
    std::string call_key;
};

struct ChannelRinging {
    std::string channel_id;
};

struct ChannelAnswered {
    std::string channel_id;
};

// The channel is gone or going (hangup request, StasisEnd, ChannelDestroyed). Repeats are fine.
struct ChannelGone {
    std::string channel_id;
    int cause = 0;  // Q.850 cause as ARI reports it (0: unknown)
};

// Why a channel is ending, learnt before it is gone (ARI Dial status, hangup request).
struct HangupCause {
    std::string channel_id;
    int cause = 0;
};

enum class CommandKind { create_agent, dial_agent, ring_genesys, answer_and_bridge, hangup };

// An ARI command the flow issued failed.
struct CommandFailed {
    std::string call_key;
    CommandKind kind;
    int http_status = 0;
    std::string error;
};

struct BridgeEstablished {
    std::string call_key;
};

enum class TimerKind { agent_no_answer };

struct TimerFired {
    std::string call_key;
    TimerKind kind;
    std::uint64_t id;
};

// After a (re)connect: the channels and bridges Asterisk has. The flow adopts the calls they
// make up, closes calls whose channels are gone and hangs up legs whose partner is gone.
struct ChannelSnapshot {
    std::string id;
    std::string name;
    std::string state;    // ARI state: Ring, Ringing, Up, ...
    std::string context;  // dialplan context (GENESYS_CONTEXT for a Genesys leg)
    std::string exten;    // the dialled DN for a Genesys leg
    std::string call_id;  // protocol_id
    bool in_app = false;  // the channel is in our Stasis app
    std::map<std::string, std::string> vars;  // ari.conf channelvars (see flow/channel_vars.hpp)
    std::optional<std::chrono::milliseconds> age;  // since its creationtime, when known
};
struct BridgeSnapshot {
    std::string id;
    std::string name;
    std::vector<std::string> channels;
};
struct Resync {
    std::vector<ChannelSnapshot> channels;
    std::vector<BridgeSnapshot> bridges;
    // When the controller asked for these lists: a call or agent leg that came after may be
    // missing from them without being gone (unset: every call predates them).
    std::optional<TimePoint> requested_at;
};

using Event =
    std::variant<GenesysLegEntered, AgentLegEntered, ChannelRinging, ChannelAnswered, ChannelGone,
                 HangupCause, NotifyReceived, CommandFailed, BridgeEstablished, TimerFired, Resync>;

}  // namespace talkgate::flow
