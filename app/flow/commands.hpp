#pragma once

#include "flow/events.hpp"

#include <chrono>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace talkgate::flow {

// What the call flow asks the outside world to do. The controller executes each through an
// adapter, asynchronously, and posts the outcome back as an event.

// ARI POST /channels/create (app, appArgs "talkgate-agent,<call key>", originator).
struct CreateAgentLeg {
    std::string call_key;
    std::string agent_channel_id;
    std::string endpoint;
    std::string app_args;
    std::string originator;
    std::map<std::string, std::string> variables;
};

// ARI POST /channels/{agent}/dial.
struct DialAgent {
    std::string call_key;
    std::string agent_channel_id;
    std::string caller_channel_id;
    int timeout_s = 0;
};

// ARI POST /channels/{genesys}/ring: Genesys gets its 180 and its early dialog.
struct RingGenesys {
    std::string call_key;
    std::string channel_id;
};

// AMI PJSIPNotify Channel: <agent leg> Variable: Event=<talk|hold>.
struct SendAgentNotify {
    std::string call_key;
    std::string dn;
    std::string call_id;    // for the log line
    std::string call_uuid;  // for the log line
    std::string agent_channel_name;
    std::string event;
};

// Bridge API POST /answer/{dn}.
struct BridgeApiAnswer {
    std::string call_key;
    std::string dn;
    std::string call_id;    // for the log line
    std::string call_uuid;  // for the log line
};

// Bridge API POST /genesys-call-notify {dn, call_id, call_uuid, event}.
struct BridgeApiNotify {
    std::string call_key;
    std::string dn;
    std::string call_id;
    std::string call_uuid;
    std::string event;
};

// ARI: answer the Genesys leg, create a mixing bridge, add both legs.
struct AnswerAndBridge {
    std::string call_key;
    std::string genesys_channel_id;
    std::string agent_channel_id;
    std::string bridge_id;
};

// ARI DELETE /channels/{id}?reason_code=N.
struct HangupChannel {
    std::string call_key;
    std::string channel_id;
    int reason_code = 16;
};

// ARI POST /channels/{id}/variable: call state kept in Asterisk for the next start.
struct SetChannelVar {
    std::string call_key;
    std::string channel_id;
    std::string name;
    std::string value;
};

struct DestroyBridge {
    std::string bridge_id;
};

struct StartTimer {
    std::string call_key;
    TimerKind kind;
    std::uint64_t id;
    std::chrono::milliseconds after;
};

using Command = std::variant<CreateAgentLeg, DialAgent, RingGenesys, SendAgentNotify,
                             BridgeApiAnswer, BridgeApiNotify, AnswerAndBridge, HangupChannel,
                             SetChannelVar, DestroyBridge, StartTimer>;

using Commands = std::vector<Command>;

}  // namespace talkgate::flow
