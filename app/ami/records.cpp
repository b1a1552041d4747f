#include "ami/records.hpp"

#include <algorithm>

namespace talkgate::ami {

ChannelInfo ChannelInfo::from(const Message& item) {
    ChannelInfo c;
    c.channel = item.get_or("Channel", "");
    c.uniqueid = item.get_or("Uniqueid", "");
    c.linkedid = item.get_or("Linkedid", "");
    c.state = item.get_or("ChannelStateDesc", "");
    c.caller_id_num = item.get_or("CallerIDNum", "");
    c.context = item.get_or("Context", "");
    c.exten = item.get_or("Exten", "");
    c.application = item.get_or("Application", "");
    c.bridge_id = item.get_or("BridgeId", "");
    c.fields = item;
    return c;
}

Contact Contact::from(const Message& item) {
    Contact c;
    // Asterisk 22 names a contact "AOR;@hash" (ObjectName) and sends no Aor field.
    const std::string object = item.get_or("ObjectName", "");
    c.aor = item.get_or("Aor", object.substr(0, object.find(";@")));
    c.uri = item.get_or("Uri", "");
    if (auto hp = parse_sip_uri_host(c.uri)) {
        c.host = hp->host;
        c.port = hp->port;
    }
    c.status = item.get_or("Status", "");
    c.endpoint = item.get_or("Endpoint", "");
    c.via_address = item.get_or("ViaAddr", "");
    c.user_agent = item.get_or("UserAgent", "");
    c.fields = item;
    return c;
}

std::optional<HostPort> parse_sip_uri_host(std::string_view uri) {
    auto trim = [](std::string_view s) {
        while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
        while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
        return s;
    };
    uri = trim(uri);
    if (auto lt = uri.find('<'); lt != std::string_view::npos) {
        auto gt = uri.find('>', lt);
        if (gt == std::string_view::npos) return std::nullopt;
        uri = uri.substr(lt + 1, gt - lt - 1);
    }
    auto colon = uri.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    auto scheme = uri.substr(0, colon);
    if (!iequals(scheme, "sip") && !iequals(scheme, "sips")) return std::nullopt;
    auto rest = uri.substr(colon + 1);
    // The host part ends at the first parameter or header; userinfo ends at the last '@' before.
    auto end = rest.find_first_of(";?>");
    if (end != std::string_view::npos) rest = rest.substr(0, end);
    if (auto at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
    HostPort hp;
    std::string_view port;
    bool has_port = false;
    if (!rest.empty() && rest.front() == '[') {
        auto close = rest.find(']');
        if (close == std::string_view::npos || close == 1) return std::nullopt;
        hp.host = std::string(rest.substr(1, close - 1));
        rest.remove_prefix(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return std::nullopt;
            port = rest.substr(1);
            has_port = true;
        }
    } else {
        auto pc = rest.find(':');
        hp.host = std::string(rest.substr(0, pc));
        if (pc != std::string_view::npos) {
            port = rest.substr(pc + 1);
            has_port = true;
        }
    }
    if (hp.host.empty()) return std::nullopt;
    if (has_port) {
        if (port.empty() || port.size() > 5) return std::nullopt;
        unsigned value = 0;
        for (char ch : port) {
            if (ch < '0' || ch > '9') return std::nullopt;
            value = value * 10 + static_cast<unsigned>(ch - '0');
        }
        if (value == 0 || value > 65535) return std::nullopt;
        hp.port = static_cast<std::uint16_t>(value);
    }
    return hp;
}

const Contact* contact_for_aor(const std::vector<Contact>& contacts, std::string_view aor) {
    const Contact* first = nullptr;
    for (const auto& c : contacts) {
        if (c.aor != aor || c.host.empty()) continue;
        if (c.status == "Reachable" || c.status == "NonQualified") return &c;
        if (first == nullptr) first = &c;
    }
    return first;
}

}  // namespace talkgate::ami
