#pragma once

#include "status/status_source.hpp"

#include <nlohmann/json.hpp>

#include <string>

// The JSON shapes of the status API (documented in the README), kept apart from the transport.
namespace talkgate::status {

nlohmann::json to_json(const CallView& call);
nlohmann::json to_json(const Readiness& readiness);
// Ready when every required peer is up.
bool is_ready(const Readiness& readiness);
const char* to_string(AnswerOutcome outcome);

// A DN as Asterisk and Genesys spell it: [0-9A-Za-z*#+_.-]{1,32}.
bool valid_dn(const std::string& dn);
// A Genesys CallUUID as a query value: 1 to 128 visible ASCII characters.
bool valid_call_uuid(const std::string& uuid);

}  // namespace talkgate::status
