#pragma once

#include "status/status_source.hpp"

#include <nlohmann/json.hpp>

#include <string>

// The JSON shapes of the status API (documented in the README), kept apart from the transport.
namespace talkgate::status {

nlohmann::json to_json(const CallView& call);
nlohmann::json to_json(const Readiness& readiness);
nlohmann::json to_json(const TraceStepView& step);
nlohmann::json to_json(const TraceView& trace);
nlohmann::json to_json(const RecentCallView& call);
nlohmann::json to_json(const DnLatencyView& latency);
nlohmann::json to_json(const LiveView& view);  // one event of GET /events
// Ready when every required peer is up.
bool is_ready(const Readiness& readiness);
const char* to_string(AnswerOutcome outcome);

}  // namespace talkgate::status
