#pragma once

#include "flow/events.hpp"

#include <ari/events.hpp>

#include <vector>

namespace talkgate::controller {

// The first Stasis argument of the agent legs talkgate creates ("talkgate-agent,<call key>").
inline constexpr const char* kAgentLegMarker = "talkgate-agent";

// Turns one ARI event into the call-flow events it means (often none). Pure.
std::vector<flow::Event> translate(const ari::Event& event);

// Q.850 cause for an ARI Dial event's dialstatus (0 when it is not a failure).
int cause_for_dialstatus(const std::string& dialstatus);

}  // namespace talkgate::controller
