#include "notify_event.hpp"

#include "sip_message.hpp"

namespace talkgate::intake {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i];
        char y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

}  // namespace

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
    NotifyEvent e;
    e.kind = notify_kind_from(msg.event);
    e.event.assign(msg.event);
    for_each_sip_param(msg.event_params, [&](std::string_view name, std::string_view value) {
        e.event_params.emplace_back(std::string(name), std::string(value));
    });
    e.call_id.assign(msg.call_id);
    e.dn.assign(msg.to.user);
    e.call_uuid.assign(msg.call_uuid);
    e.cseq = msg.cseq;
    e.from_tag.assign(msg.from.tag);
    e.to_tag.assign(msg.to.tag);
    e.subscription_state.assign(msg.subscription_state);
    e.source = source;
    e.source_address = std::move(source_address);
    e.received_at = received_at;
    return P::ok(std::move(e));
}

}  // namespace talkgate::intake
