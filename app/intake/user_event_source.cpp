#include "user_event_source.hpp"

#include "hep_intake.hpp"
#include "wire/wire_text.hpp"

#include <nlohmann/json.hpp>

#include <cctype>
#include <chrono>
#include <string_view>

namespace talkgate::intake {

namespace {

using wire::iequals;

std::string trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return std::string(s);
}

void set_error(std::string* error, std::string text) {
    if (error) *error = std::move(text);
}

// The contract's keys, whatever the transport.
struct Keys {
    std::optional<std::string> notify_event, call_id, dn, cseq, call_uuid, from_tag, to_tag,
        subscription_state;

    std::optional<std::string>* slot(std::string_view key) {
        if (iequals(key, "NotifyEvent")) return &notify_event;
        if (iequals(key, "CallID")) return &call_id;
        if (iequals(key, "DN")) return &dn;
        if (iequals(key, "CSeq")) return &cseq;
        if (iequals(key, "CallUUID")) return &call_uuid;
        if (iequals(key, "FromTag")) return &from_tag;
        if (iequals(key, "ToTag")) return &to_tag;
        if (iequals(key, "SubscriptionState")) return &subscription_state;
        return nullptr;
    }
};

std::optional<NotifyEvent> build(Keys& k, NotifySource source, const std::string& channel,
                                 std::string* error) {
    const char* missing = !k.notify_event || k.notify_event->empty() ? "NotifyEvent"
                          : !k.call_id || k.call_id->empty()         ? "CallID"
                          : !k.dn || k.dn->empty()                   ? "DN"
                          : !k.cseq || k.cseq->empty()               ? "CSeq"
                                                                     : nullptr;
    if (missing) {
        set_error(error, std::string("GenesysNotify without ") + missing);
        return std::nullopt;
    }
    std::uint64_t cseq = 0;
    bool digits = k.cseq->size() <= 10;
    for (char c : *k.cseq) {
        if (c < '0' || c > '9') digits = false;
        if (digits) cseq = cseq * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (!digits || cseq > 0x7fffffff) {
        set_error(error, "GenesysNotify with a bad CSeq '" + k.cseq->substr(0, 20) + "'");
        return std::nullopt;
    }
    if (k.call_id->size() > HepIntake::kMaxCallIdLength) {
        set_error(error, "GenesysNotify with a Call-ID too long");
        return std::nullopt;
    }
    if (!wire::valid_call_id(*k.call_id)) {
        set_error(error, "GenesysNotify with a Call-ID that is not visible ASCII");
        return std::nullopt;
    }
    if (!wire::valid_dn(*k.dn)) {
        set_error(error, "GenesysNotify with a DN that is not [0-9A-Za-z*#+_.-]{1,32}: '" +
                             wire::escaped(*k.dn, 40) + "'");
        return std::nullopt;
    }
    if (!wire::is_token(*k.notify_event, 64)) {
        set_error(error, "GenesysNotify with a NotifyEvent that is not a token");
        return std::nullopt;
    }
    NotifyEvent e;
    e.kind = notify_kind_from(*k.notify_event);
    e.event = std::move(*k.notify_event);
    e.call_id = std::move(*k.call_id);
    e.dn = std::move(*k.dn);
    e.cseq = static_cast<std::uint32_t>(cseq);
    keep_or_drop(e, e.call_uuid, k.call_uuid.value_or(""), 128, "CallUUID");
    keep_or_drop(e, e.from_tag, k.from_tag.value_or(""), 128, "FromTag");
    keep_or_drop(e, e.to_tag, k.to_tag.value_or(""), 128, "ToTag");
    keep_or_drop(e, e.subscription_state, k.subscription_state.value_or(""), 64,
                 "SubscriptionState");
    keep_or_drop(e, e.channel, channel, 256, "channel");
    e.source = source;
    e.received_at = std::chrono::steady_clock::now();
    if (error) error->clear();
    return e;
}

}  // namespace

std::optional<NotifyEvent> notify_from_ami_userevent(
    const std::vector<std::pair<std::string, std::string>>& fields, std::string* error) {
    if (error) error->clear();
    const std::string* event = nullptr;
    const std::string* user_event = nullptr;
    const std::string* uniqueid = nullptr;
    Keys keys;
    for (const auto& [key, value] : fields) {
        if (iequals(key, "Event")) {
            if (!event) event = &value;
        } else if (iequals(key, "Uniqueid")) {
            if (!uniqueid) uniqueid = &value;
        } else if (iequals(key, "UserEvent")) {
            if (!user_event) user_event = &value;
        } else if (auto* slot = keys.slot(key); slot && !*slot) {
            *slot = trim(value);
        }
    }
    if (!event || !iequals(trim(*event), "UserEvent") || !user_event ||
        !iequals(trim(*user_event), kGenesysNotifyUserEvent)) {
        return std::nullopt;
    }
    return build(keys, NotifySource::ami, uniqueid ? trim(*uniqueid) : std::string(), error);
}

std::optional<NotifyEvent> notify_from_ari_userevent(const nlohmann::json& ev, std::string* error) {
    if (error) error->clear();
    if (!ev.is_object()) return std::nullopt;
    const auto type = ev.find("type");
    const auto name = ev.find("eventname");
    if (type == ev.end() || !type->is_string() || *type != "ChannelUserevent" || name == ev.end() ||
        !name->is_string() ||
        !iequals(name->get_ref<const std::string&>(), kGenesysNotifyUserEvent)) {
        return std::nullopt;
    }
    const auto body = ev.find("userevent");
    if (body == ev.end() || !body->is_object()) {
        set_error(error, "GenesysNotify without a userevent object");
        return std::nullopt;
    }
    Keys keys;
    for (auto it = body->begin(); it != body->end(); ++it) {
        auto* slot = keys.slot(it.key());
        if (!slot || *slot) continue;
        if (it->is_string()) {
            *slot = trim(it->get_ref<const std::string&>());
        } else if (it->is_number_integer() && it->get<std::int64_t>() >= 0) {
            *slot = std::to_string(it->get<std::int64_t>());
        } else if (!it->is_null()) {
            set_error(error, "GenesysNotify key " + it.key() + " is neither a string nor a number");
            return std::nullopt;
        }
    }
    std::string channel;
    if (const auto ch = ev.find("channel"); ch != ev.end() && ch->is_object()) {
        if (const auto id = ch->find("id"); id != ch->end() && id->is_string())
            channel = id->get<std::string>();
    }
    return build(keys, NotifySource::ari, channel, error);
}

}  // namespace talkgate::intake
