#pragma once

#include "ami/message.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace talkgate::ami {

// One live channel from CoreShowChannels (a "CoreShowChannel" list item).
struct ChannelInfo {
    std::string channel;  // e.g. PJSIP/1001-00000003
    std::string uniqueid;
    std::string linkedid;
    std::string state;  // ChannelStateDesc: Ring, Ringing, Up, ...
    std::string caller_id_num;
    std::string context;
    std::string exten;
    std::string application;
    std::string bridge_id;
    Message fields;  // every field Asterisk sent

    static ChannelInfo from(const Message& item);
};

// A host and port taken from a SIP URI.
struct HostPort {
    std::string host;        // without IPv6 brackets
    std::uint16_t port = 0;  // 0 when the URI has none
};

// One PJSIP contact from PJSIPShowContacts (a "ContactList" list item).
struct Contact {
    std::string aor;   // the AOR (agent) it belongs to, e.g. 1009
    std::string uri;   // e.g. sip:1009@127.0.0.3:5060;transport=udp
    std::string host;  // host of `uri`: what fills a bridge URL's {contact_host}
    std::uint16_t port = 0;
    std::string status;  // Reachable, Unreachable, NonQualified, Unknown, ...
    std::string endpoint;
    std::string via_address;  // ViaAddr: where the REGISTER came from
    std::string user_agent;
    Message fields;  // every field Asterisk sent

    static Contact from(const Message& item);
};

// Host and port of a SIP URI ("sip:user@host:port;params", "<sips:[::1]:5061>", ...).
std::optional<HostPort> parse_sip_uri_host(std::string_view uri);

// The first contact of `aor`, preferring one Asterisk considers reachable; nullptr if none.
const Contact* contact_for_aor(const std::vector<Contact>& contacts, std::string_view aor);

}  // namespace talkgate::ami
