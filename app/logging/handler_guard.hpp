#pragma once

#include "logging/rate_limit.hpp"
#include "wire/wire_text.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <string>

namespace talkgate::logging {

// Runs a completion handler, posted function or library-thread callback so that nothing it
// throws escapes into an event loop or a library thread: each exception is counted (`counted`,
// e.g. talkgate_handler_errors_total{component}) and logged, at most one line a second.
// Thread-safe.
class HandlerGuard {
  public:
    explicit HandlerGuard(std::string component, std::function<void()> counted = nullptr)
        : component_(std::move(component)), counted_(std::move(counted)) {}

    // True when `f` returned, false when it threw (already counted and logged).
    template <class F>
    bool run(const char* where, F&& f) noexcept {
        try {
            f();
            return true;
        } catch (const std::exception& e) {
            caught(where, e.what());
        } catch (...) {
            caught(where, "a non-standard exception");
        }
        return false;
    }

    // Counts and logs one exception that `where` did not expect; never throws.
    void caught(const char* where, const char* what) noexcept {
        caught_.fetch_add(1, std::memory_order_relaxed);
        try {
            if (counted_) counted_();
            std::uint64_t held_back = 0;
            {
                std::lock_guard<std::mutex> lock(mu_);
                if (!limit_.allow(held_back)) return;
            }
            spdlog::error("{}: {} threw: {} ({} more not logged since the last line)", component_,
                          where, wire::escaped(what, 200), held_back);
        } catch (...) {
        }
    }

    std::uint64_t caught_total() const { return caught_.load(std::memory_order_relaxed); }

  private:
    std::string component_;          // names the component in log lines
    std::function<void()> counted_;  // moves the metric; may be empty
    std::atomic<std::uint64_t> caught_{0};
    std::mutex mu_;  // guards limit_: handlers run on several threads
    RateLimit limit_{std::chrono::seconds(1)};
};

}  // namespace talkgate::logging
