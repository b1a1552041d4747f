#pragma once

#include "notify_event.hpp"

#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace talkgate::intake {

// The user-event contract through which any SIP edge (an Asterisk module, a proxy in front of
// Asterisk) reports a Genesys NOTIFY. AMI:
//
//     Event: UserEvent
//     UserEvent: GenesysNotify
//     NotifyEvent: talk          (the NOTIFY's Event type: talk, hold, ...; required)
//     CallID: <SIP Call-ID>      (required)
//     DN: 1002                   (the To user: the agent's DN; required)
//     CSeq: 102                  (the NOTIFY's CSeq number; required: it keys de-duplication)
//     CallUUID: <X-Genesys-CallUUID>  (optional, may be empty)
//     FromTag, ToTag, SubscriptionState  (optional)
//
// The channel it is raised on (AMI Uniqueid, ARI channel.id) becomes NotifyEvent::channel.
// DN, CallID and NotifyEvent with bytes outside their charset reject the event; an optional
// value that is not visible ASCII is dropped and named in NotifyEvent::dropped_header.
//
// Never a key named `Event` for the NOTIFY's event: AMI would print a second `Event:` line.
// ARI: a ChannelUserevent with "eventname": "GenesysNotify" and the same keys in "userevent"
// (CSeq as a string or a number). Keys match case-insensitively; other keys are ignored.
inline constexpr const char* kGenesysNotifyUserEvent = "GenesysNotify";

// A NotifyEvent (source ami, received now) from one AMI message given as its ordered key/value
// pairs. nullopt with `*error` cleared for any message that is not UserEvent GenesysNotify;
// nullopt with `*error` set when it is one but breaks the contract. `error` may be null.
std::optional<NotifyEvent> notify_from_ami_userevent(
    const std::vector<std::pair<std::string, std::string>>& fields, std::string* error);

// The same for an ARI event (source ari): only ChannelUserevent with eventname GenesysNotify.
std::optional<NotifyEvent> notify_from_ari_userevent(const nlohmann::json& channel_userevent_event,
                                                     std::string* error);

}  // namespace talkgate::intake
