#include "notify_event.hpp"

#include "sip_message.hpp"
#include "wire/wire_text.hpp"

namespace talkgate::intake {

using wire::iequals;

void drop(NotifyEvent& e, std::string_view field) {
    if (!e.dropped_header.empty()) e.dropped_header += ", ";
    e.dropped_header += field;
}

void keep_or_drop(NotifyEvent& e, std::string& slot, std::string_view value, std::size_t max,
                  std::string_view field) {
    if (value.empty()) return;
    if (wire::is_token(value, max))
        slot.assign(value);
    else
        drop(e, field);
}

NotifyKind notify_kind_from(std::string_view event) {
    if (iequals(event, "talk")) return NotifyKind::talk;
    if (iequals(event, "hold")) return NotifyKind::hold;
    return NotifyKind::other;
}

const char* to_string(NotifyKind kind) {
    switch (kind) {
        case NotifyKind::talk:
            return "talk";
        case NotifyKind::hold:
            return "hold";
        default:
            return "other";
    }
}

const char* to_string(NotifySource source) {
    switch (source) {
        case NotifySource::hep:
            return "hep";
        case NotifySource::ami:
            return "ami";
        default:
            return "ari";
    }
}

Parsed<NotifyEvent> notify_from_sip(const SipMessage& msg, NotifySource source,
                                    std::string source_address,
                                    std::chrono::steady_clock::time_point received_at) {
    using P = Parsed<NotifyEvent>;
    if (!msg.is_request || msg.method != "NOTIFY") return P::fail("not a NOTIFY request");
    if (msg.event.empty()) return P::fail("NOTIFY without Event header");
    if (msg.to.user.empty()) return P::fail("NOTIFY without a user (DN) in To");
    if (!wire::valid_dn(msg.to.user))
        return P::fail("NOTIFY whose To user is not a DN: '" + wire::escaped(msg.to.user, 40) +
                       "'");
    if (!wire::valid_call_id(msg.call_id))
        return P::fail("NOTIFY with a Call-ID that is not visible ASCII");
    if (!wire::is_token(msg.event, 64))
        return P::fail("NOTIFY with an Event type that is not a token");
    NotifyEvent e;
    e.kind = notify_kind_from(msg.event);
    e.event.assign(msg.event);
    for_each_sip_param(msg.event_params, [&](std::string_view name, std::string_view value) {
        if (wire::is_token(name, 64) && (value.empty() || wire::is_token(value, 128)))
            e.event_params.emplace_back(std::string(name), std::string(value));
        else
            drop(e, "Event parameter");
    });
    e.call_id.assign(msg.call_id);
    e.dn.assign(msg.to.user);
    keep_or_drop(e, e.call_uuid, msg.call_uuid, 128, "X-Genesys-CallUUID");
    e.cseq = msg.cseq;
    keep_or_drop(e, e.from_tag, msg.from.tag, 128, "From tag");
    keep_or_drop(e, e.to_tag, msg.to.tag, 128, "To tag");
    keep_or_drop(e, e.subscription_state, msg.subscription_state, 64, "Subscription-State");
    e.source = source;
    e.source_address = std::move(source_address);
    e.received_at = received_at;
    return P::ok(std::move(e));
}

}  // namespace talkgate::intake
