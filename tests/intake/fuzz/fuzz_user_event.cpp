// libFuzzer target: AMI and ARI user events to NOTIFY. The bytes are read as AMI "Key: Value"
// lines and as an ARI JSON event; a NotifyEvent that comes out has a DN and a Call-ID of
// their charset and a CallUUID that is empty or visible ASCII, its JSON text never throws,
// and no exception escapes.
#include "intake/user_event_source.hpp"
#include "wire/json_text.hpp"
#include "wire/wire_text.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace {

void check(const talkgate::intake::NotifyEvent& n) {
    using namespace talkgate::wire;
    if (!valid_dn(n.dn) || !valid_call_id(n.call_id) || !is_token(n.event, 64)) __builtin_trap();
    if (!n.call_uuid.empty() && !valid_call_uuid(n.call_uuid)) __builtin_trap();
    nlohmann::json body{{"dn", n.dn},
                        {"call_id", n.call_id},
                        {"call_uuid", n.call_uuid},
                        {"event", n.event},
                        {"channel", n.channel}};
    (void)json_text(body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        std::vector<std::pair<std::string, std::string>> fields{{"Event", "UserEvent"},
                                                                {"UserEvent", "GenesysNotify"}};
        std::size_t start = 0;
        while (start < text.size()) {
            auto end = text.find('\n', start);
            if (end == std::string::npos) end = text.size();
            const std::string line = text.substr(start, end - start);
            const auto colon = line.find(':');
            if (colon != std::string::npos)
                fields.emplace_back(line.substr(0, colon), line.substr(colon + 1));
            start = end + 1;
        }
        std::string error;
        if (auto n = talkgate::intake::notify_from_ami_userevent(fields, &error)) check(*n);
        auto json = nlohmann::json::parse(text, nullptr, false);
        if (!json.is_discarded()) {
            if (auto n = talkgate::intake::notify_from_ari_userevent(json, &error)) check(*n);
        }
    } catch (...) {
        __builtin_trap();
    }
    return 0;
}
