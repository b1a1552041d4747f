#pragma once

#include "flow/call_flow.hpp"
#include "status/status_source.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

// What the status API sees of the call flow: its calls as CallViews (epoch milliseconds), the
// manual answer's outcome. Pure: the controller calls these on its io thread.
namespace talkgate::controller {

// Every live call; `steady_now` and `wall_now` are one instant on both clocks.
std::vector<status::CallView> call_views(const flow::CallRegistry& registry,
                                         flow::TimePoint steady_now,
                                         std::chrono::system_clock::time_point wall_now);

// The call with this id, live or recently ended, with its ladder; nullopt when unknown.
std::optional<status::TraceView> trace_view(const flow::CallRegistry& registry,
                                            const std::string& id, flow::TimePoint steady_now,
                                            std::chrono::system_clock::time_point wall_now);

// The ended calls the registry keeps, newest first.
std::vector<status::RecentCallView> recent_views(const flow::CallRegistry& registry,
                                                 flow::TimePoint steady_now,
                                                 std::chrono::system_clock::time_point wall_now);

status::AnswerOutcome to_status(flow::ManualAnswerOutcome outcome);

}  // namespace talkgate::controller
