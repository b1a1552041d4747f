#pragma once

#include "ari/models.hpp"
#include "ari/result.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ari {

// Fields every ARI event has, and the whole event as Asterisk sent it.
struct EventBase {
    std::string type;
    std::string application;
    std::string timestamp;
    std::string asterisk_id;
    nlohmann::json raw;
};

struct StasisStart : EventBase {
    std::vector<std::string> args;  // Stasis(app,arg1,arg2,...)
    Channel channel;
    std::optional<Channel> replace_channel;
};
struct StasisEnd : EventBase {
    Channel channel;
};
struct ChannelStateChange : EventBase {
    Channel channel;
};
struct ChannelDestroyed : EventBase {
    Channel channel;
    int cause = 0;
    std::string cause_txt;
};
struct ChannelHangupRequest : EventBase {
    Channel channel;
    std::optional<int> cause;  // absent on one of the two events a BYE may give
    bool soft = false;
};
struct ChannelVarset : EventBase {
    std::optional<Channel> channel;  // absent for global variables
    std::string variable;
    std::string value;
};
struct ChannelDtmfReceived : EventBase {
    Channel channel;
    std::string digit;
    int duration_ms = 0;
};
struct ChannelHold : EventBase {
    Channel channel;
    std::string musicclass;
};
struct ChannelUnhold : EventBase {
    Channel channel;
};
struct Dial : EventBase {
    std::optional<Channel> caller;
    Channel peer;
    std::optional<Channel> forwarded;
    std::string dialstatus;  // "", RINGING, ANSWER, BUSY, NOANSWER, CANCEL, ...
    std::string dialstring;
    std::string forward;
};
struct ChannelUserevent : EventBase {
    std::string eventname;
    std::optional<Channel> channel;
    std::optional<Bridge> bridge;
    std::optional<Endpoint> endpoint;
    nlohmann::json userevent;  // the user event's key/values
};
struct BridgeCreated : EventBase {
    Bridge bridge;
};
struct BridgeDestroyed : EventBase {
    Bridge bridge;
};
struct ChannelEnteredBridge : EventBase {
    Bridge bridge;
    Channel channel;
};
struct ChannelLeftBridge : EventBase {
    Bridge bridge;
    Channel channel;
};
struct ApplicationReplaced : EventBase {};
// Any other event type: only EventBase (type, raw) is filled.
struct OtherEvent : EventBase {};

using Event =
    std::variant<StasisStart, StasisEnd, ChannelStateChange, ChannelDestroyed, ChannelHangupRequest,
                 ChannelVarset, ChannelDtmfReceived, ChannelHold, ChannelUnhold, Dial,
                 ChannelUserevent, BridgeCreated, BridgeDestroyed, ChannelEnteredBridge,
                 ChannelLeftBridge, ApplicationReplaced, OtherEvent>;

// The common fields of any event.
const EventBase& event_base(const Event& e);

// Decodes one WebSocket text message; malformed JSON or a known type with a missing
// mandatory object is an Error of kind decode.
Result<Event> decode_event(std::string_view text);
Result<Event> decode_event_json(nlohmann::json j);

}  // namespace ari
