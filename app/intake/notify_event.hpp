#pragma once

#include "notify_kind.hpp"
#include "parsed.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace talkgate::intake {

struct SipMessage;

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
    // AMI/ARI: the channel the user event was raised on (AMI Uniqueid, ARI channel.id); empty
    // from HEP and when not given. The flow acts only when it is the call's Genesys leg.
    std::string channel;
    // A header dropped at the edge for its bytes or length ("X-Genesys-CallUUID"), so the
    // NOTIFY still acts on the call its Call-ID names; empty when none was.
    std::string dropped_header;
    std::chrono::steady_clock::time_point received_at{};
};

NotifyKind notify_kind_from(std::string_view event);  // case-insensitive "talk"/"hold"
const char* to_string(NotifyKind kind);
const char* to_string(NotifySource source);

// Records that `field` was dropped at the edge (appends to dropped_header).
void drop(NotifyEvent& e, std::string_view field);
// Copies `value` into `slot` when it is 1 to `max` visible ASCII characters, else drops it.
void keep_or_drop(NotifyEvent& e, std::string& slot, std::string_view value, std::size_t max,
                  std::string_view field);

// A NotifyEvent from a parsed SIP NOTIFY request; fails for other methods, a NOTIFY without
// an Event header, one whose To user is not a DN ([0-9A-Za-z*#+_.-]{1,32}), or whose Call-ID or
// Event is not visible ASCII. A CallUUID that is not 1 to 128 visible ASCII characters is
// dropped (dropped_header says so): the Call-ID still names the call.
Parsed<NotifyEvent> notify_from_sip(const SipMessage& msg, NotifySource source,
                                    std::string source_address,
                                    std::chrono::steady_clock::time_point received_at);

}  // namespace talkgate::intake
