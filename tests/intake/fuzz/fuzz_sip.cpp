// libFuzzer target: the SIP parser and the NotifyEvent built from it.
#include "intake/notify_event.hpp"
#include "intake/sip_message.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace talkgate::intake;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto msg = parse_sip(text);
    if (!msg) {
        if (msg.error().empty()) __builtin_trap();
        return 0;
    }
    const auto inside = [&](std::string_view v) {
        return v.empty() ||
               (v.data() >= text.data() && v.data() + v.size() <= text.data() + text.size());
    };
    for (auto v :
         {msg->method, msg->request_uri, msg->reason, msg->call_id, msg->cseq_method, msg->from.uri,
          msg->from.user, msg->from.tag, msg->to.uri, msg->to.user, msg->to.tag, msg->event,
          msg->event_params, msg->subscription_state, msg->call_uuid, msg->body}) {
        if (!inside(v)) __builtin_trap();
    }
    if (msg->call_id.empty() || msg->cseq_method.empty() || msg->cseq > 0x7fffffffu)
        __builtin_trap();
    if (msg->has_content_length && msg->body.size() != msg->content_length) __builtin_trap();
    auto event = notify_from_sip(*msg, NotifySource::hep, "127.0.0.2:5060", {});
    if (event && (event->dn.empty() || event->event.empty())) __builtin_trap();
    return 0;
}
