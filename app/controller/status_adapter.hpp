#pragma once

#include "flow/call_flow.hpp"
#include "status/status_source.hpp"

#include <chrono>
#include <vector>

// What the status API sees of the call flow: its calls as CallViews (epoch milliseconds), the
// manual answer's outcome. Pure: the controller calls these on its io thread.
namespace talkgate::controller {

// Every live call; `steady_now` and `wall_now` are one instant on both clocks.
std::vector<status::CallView> call_views(const flow::CallRegistry& registry,
                                         flow::TimePoint steady_now,
                                         std::chrono::system_clock::time_point wall_now);

status::AnswerOutcome to_status(flow::ManualAnswerOutcome outcome);

}  // namespace talkgate::controller
