#include "ari/events.hpp"

#include <type_traits>
#include <unordered_map>

namespace ari {
namespace {

std::string str(const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return {};
    return it->get<std::string>();
}

// A mandatory object member (channel, bridge, ...), parsed or an Error naming the event.
// A typed member, or `fallback` when it is missing or of another type ("cause": "x").
template <class T>
T typed(const nlohmann::json& j, const char* key, T fallback) {
    auto it = j.find(key);
    if (it == j.end()) return fallback;
    if constexpr (std::is_same_v<T, bool>) {
        return it->is_boolean() ? it->get<bool>() : fallback;
    } else {
        return it->is_number_integer() ? it->get<T>() : fallback;
    }
}

template <class T, class Parse>
Result<T> required(const nlohmann::json& j, const char* key, const std::string& type, Parse parse) {
    auto it = j.find(key);
    if (it == j.end()) return Error{Error::Kind::decode, 0, type + " without " + key};
    return parse(*it);
}

template <class T, class Parse>
std::optional<T> optional(const nlohmann::json& j, const char* key, Parse parse) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_object()) return std::nullopt;
    auto r = parse(*it);
    if (!r) return std::nullopt;
    return std::move(r.value());
}

template <class E>
E with_base(EventBase&& base) {
    E e;
    static_cast<EventBase&>(e) = std::move(base);
    return e;
}

using Decoder = Result<Event> (*)(EventBase&&);

// Each decoder reads typed fields from base.raw, then moves base (with raw) into the event.
#define ARI_CHANNEL_OR_FAIL(var)                                                 \
    auto var = required<Channel>(base.raw, "channel", base.type, parse_channel); \
    if (!var) return var.error()

Result<Event> stasis_start(EventBase&& base) {
    ARI_CHANNEL_OR_FAIL(ch);
    auto e = with_base<StasisStart>(std::move(base));
    e.channel = std::move(ch.value());
    if (auto it = e.raw.find("args"); it != e.raw.end() && it->is_array()) {
        for (const auto& a : *it) e.args.push_back(a.is_string() ? a.get<std::string>() : a.dump());
    }
    e.replace_channel = optional<Channel>(e.raw, "replace_channel", parse_channel);
    return Event(std::move(e));
}

template <class E>
Result<Event> channel_only(EventBase&& base) {
    ARI_CHANNEL_OR_FAIL(ch);
    auto e = with_base<E>(std::move(base));
    e.channel = std::move(ch.value());
    return Event(std::move(e));
}

Result<Event> channel_destroyed(EventBase&& base) {
    ARI_CHANNEL_OR_FAIL(ch);
    auto e = with_base<ChannelDestroyed>(std::move(base));
    e.channel = std::move(ch.value());
    e.cause = typed<int>(e.raw, "cause", 0);
    e.cause_txt = str(e.raw, "cause_txt");
    return Event(std::move(e));
}

Result<Event> hangup_request(EventBase&& base) {
    ARI_CHANNEL_OR_FAIL(ch);
    auto e = with_base<ChannelHangupRequest>(std::move(base));
    e.channel = std::move(ch.value());
    if (auto it = e.raw.find("cause"); it != e.raw.end() && it->is_number_integer())
        e.cause = it->get<int>();
    e.soft = typed<bool>(e.raw, "soft", false);
    return Event(std::move(e));
}

Result<Event> varset(EventBase&& base) {
    auto e = with_base<ChannelVarset>(std::move(base));
    e.channel = optional<Channel>(e.raw, "channel", parse_channel);
    e.variable = str(e.raw, "variable");
    e.value = str(e.raw, "value");
    return Event(std::move(e));
}

Result<Event> dtmf(EventBase&& base) {
    ARI_CHANNEL_OR_FAIL(ch);
    auto e = with_base<ChannelDtmfReceived>(std::move(base));
    e.channel = std::move(ch.value());
    e.digit = str(e.raw, "digit");
    e.duration_ms = typed<int>(e.raw, "duration_ms", 0);
    return Event(std::move(e));
}

Result<Event> hold(EventBase&& base) {
    ARI_CHANNEL_OR_FAIL(ch);
    auto e = with_base<ChannelHold>(std::move(base));
    e.channel = std::move(ch.value());
    e.musicclass = str(e.raw, "musicclass");
    return Event(std::move(e));
}

Result<Event> dial(EventBase&& base) {
    auto peer = required<Channel>(base.raw, "peer", base.type, parse_channel);
    if (!peer) return peer.error();
    auto e = with_base<Dial>(std::move(base));
    e.peer = std::move(peer.value());
    e.caller = optional<Channel>(e.raw, "caller", parse_channel);
    e.forwarded = optional<Channel>(e.raw, "forwarded", parse_channel);
    e.dialstatus = str(e.raw, "dialstatus");
    e.dialstring = str(e.raw, "dialstring");
    e.forward = str(e.raw, "forward");
    return Event(std::move(e));
}

Result<Event> userevent(EventBase&& base) {
    auto e = with_base<ChannelUserevent>(std::move(base));
    e.eventname = str(e.raw, "eventname");
    e.channel = optional<Channel>(e.raw, "channel", parse_channel);
    e.bridge = optional<Bridge>(e.raw, "bridge", parse_bridge);
    e.endpoint = optional<Endpoint>(e.raw, "endpoint", parse_endpoint);
    if (auto it = e.raw.find("userevent"); it != e.raw.end() && it->is_object())
        e.userevent = *it;
    else
        e.userevent = nlohmann::json::object();
    return Event(std::move(e));
}

template <class E>
Result<Event> bridge_only(EventBase&& base) {
    auto b = required<Bridge>(base.raw, "bridge", base.type, parse_bridge);
    if (!b) return b.error();
    auto e = with_base<E>(std::move(base));
    e.bridge = std::move(b.value());
    return Event(std::move(e));
}

template <class E>
Result<Event> bridge_and_channel(EventBase&& base) {
    auto b = required<Bridge>(base.raw, "bridge", base.type, parse_bridge);
    if (!b) return b.error();
    ARI_CHANNEL_OR_FAIL(ch);
    auto e = with_base<E>(std::move(base));
    e.bridge = std::move(b.value());
    e.channel = std::move(ch.value());
    return Event(std::move(e));
}

template <class E>
Result<Event> plain(EventBase&& base) {
    return Event(with_base<E>(std::move(base)));
}

#undef ARI_CHANNEL_OR_FAIL

const std::unordered_map<std::string, Decoder>& decoders() {
    static const std::unordered_map<std::string, Decoder> table = {
        {"StasisStart", &stasis_start},
        {"StasisEnd", &channel_only<StasisEnd>},
        {"ChannelStateChange", &channel_only<ChannelStateChange>},
        {"ChannelDestroyed", &channel_destroyed},
        {"ChannelHangupRequest", &hangup_request},
        {"ChannelVarset", &varset},
        {"ChannelDtmfReceived", &dtmf},
        {"ChannelHold", &hold},
        {"ChannelUnhold", &channel_only<ChannelUnhold>},
        {"Dial", &dial},
        {"ChannelUserevent", &userevent},
        {"BridgeCreated", &bridge_only<BridgeCreated>},
        {"BridgeDestroyed", &bridge_only<BridgeDestroyed>},
        {"ChannelEnteredBridge", &bridge_and_channel<ChannelEnteredBridge>},
        {"ChannelLeftBridge", &bridge_and_channel<ChannelLeftBridge>},
        {"ApplicationReplaced", &plain<ApplicationReplaced>},
    };
    return table;
}

}  // namespace

const EventBase& event_base(const Event& e) {
    return std::visit([](const auto& v) -> const EventBase& { return v; }, e);
}

Result<Event> decode_event(std::string_view text) {
    auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
    if (j.is_discarded()) return Error{Error::Kind::decode, 0, "event is not valid JSON"};
    return decode_event_json(std::move(j));
}

Result<Event> decode_event_json(nlohmann::json j) {
    if (!j.is_object()) return Error{Error::Kind::decode, 0, "event is not a JSON object"};
    EventBase base;
    base.type = str(j, "type");
    if (base.type.empty()) return Error{Error::Kind::decode, 0, "event without type"};
    base.application = str(j, "application");
    base.timestamp = str(j, "timestamp");
    base.asterisk_id = str(j, "asterisk_id");
    base.raw = std::move(j);
    const auto& table = decoders();
    auto it = table.find(base.type);
    if (it == table.end()) return Event(with_base<OtherEvent>(std::move(base)));
    // A field of an unexpected type is this event's error, never an exception for the caller.
    try {
        return it->second(std::move(base));
    } catch (const nlohmann::json::exception& e) {
        return Error{
            Error::Kind::decode, 0,
            "event with a field of the wrong type: " + std::string(e.what()).substr(0, 120)};
    }
}

}  // namespace ari
