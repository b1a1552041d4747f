#pragma once
// How many calls a running Controller's status source lists, asked on its io thread.
#include "controller/controller.hpp"

#include <chrono>
#include <cstddef>
#include <future>
#include <memory>
#include <optional>
#include <vector>

namespace talkgate::test {

// nullopt when no answer came within `deadline`: the io thread is stuck or gone.
inline std::optional<std::size_t> listed_calls(controller::Controller& controller,
                                               std::chrono::milliseconds deadline) {
    // Shared: a late answer after the deadline must not write into a finished frame.
    auto listed = std::make_shared<std::promise<std::size_t>>();
    auto f = listed->get_future();
    controller.calls(
        [listed](std::vector<status::CallView> calls) { listed->set_value(calls.size()); });
    if (f.wait_for(deadline) != std::future_status::ready) return std::nullopt;
    return f.get();
}

}  // namespace talkgate::test
