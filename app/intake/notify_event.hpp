#pragma once

#include "parsed.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace talkgate::intake {

struct SipMessage;

// What Genesys asks of the agent's phone.
enum class NotifyKind {
    talk,   // answer (ringing) or retrieve (held)
    hold,   // place the call on hold
    other,  // any other event package; `event` holds its name
};

// Where the NOTIFY was learnt from.
enum class NotifySource {
    hep,  // Asterisk's HEP copy of the SIP message
    ami,  // AMI UserEvent GenesysNotify
    ari,  // ARI ChannelUserevent GenesysNotify
};

// One NOTIFY transaction from Genesys SIP Server, the same whatever its source.
struct NotifyEvent {
    NotifyKind kind = NotifyKind::other;
    std::string event;  // the Event header's type as sent ("talk")
    std::vector<std::pair<std::string, std::string>> event_params;  // Event's ;name=value
    std::string call_id;             // SIP Call-ID of Genesys's dialog
    std::string dn;                  // the To URI's user: the agent's DN
    std::string call_uuid;           // X-Genesys-CallUUID; may be empty
    std::uint32_t cseq = 0;          // CSeq number of the NOTIFY
    std::string from_tag;            // Genesys's tag; empty from AMI/ARI unless given
    std::string to_tag;              // Asterisk's tag; empty from AMI/ARI unless given
    std::string subscription_state;  // "active", "terminated", ...; may be empty
    NotifySource source = NotifySource::hep;
    std::string source_address;  // HEP: the SIP sender "ip:port"; AMI/ARI: as set
    std::chrono::steady_clock::time_point received_at{};
};

NotifyKind notify_kind_from(std::string_view event);  // case-insensitive "talk"/"hold"
const char* to_string(NotifyKind kind);
const char* to_string(NotifySource source);

// A NotifyEvent from a parsed SIP NOTIFY request; fails for other methods, a NOTIFY without
// an Event header, or one whose To URI has no user (no DN).
Parsed<NotifyEvent> notify_from_sip(const SipMessage& msg, NotifySource source,
                                    std::string source_address,
                                    std::chrono::steady_clock::time_point received_at);

}  // namespace talkgate::intake
