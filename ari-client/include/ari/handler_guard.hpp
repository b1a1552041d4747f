#pragma once

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <string>

namespace ari {

// Runs callbacks on event loops and library threads so that no exception escapes them: what
// one throws is caught, counted and logged (one line per second at most, with the count it
// stands for). Thread-safe.
class HandlerGuard {
  public:
    // `counted` (may be empty) runs once per caught exception, e.g. to move a metric.
    explicit HandlerGuard(std::string component, std::function<void()> counted = nullptr)
        : component_(std::move(component)), counted_(std::move(counted)) {}

    template <class F>
    void run(const char* where, F&& f) noexcept {
        try {
            f();
        } catch (const std::exception& e) {
            caught(where, e.what());
        } catch (...) {
            caught(where, "unknown exception");
        }
    }

    std::uint64_t caught_total() const { return caught_.load(std::memory_order_relaxed); }

    // Counts and logs one exception that `where` did not expect; never throws.
    void caught(const char* where, const char* what) noexcept {
        caught_.fetch_add(1, std::memory_order_relaxed);
        try {
            if (counted_) counted_();
            std::lock_guard<std::mutex> lock(mu_);
            ++suppressed_;
            const auto now = std::chrono::steady_clock::now();
            if (logged_ && now - last_ < std::chrono::seconds(1)) return;
            spdlog::error("{}: {} threw: {} (x{} since the last line)", component_, where,
                          std::string(what).substr(0, 200), suppressed_);
            logged_ = true;
            last_ = now;
            suppressed_ = 0;
        } catch (...) {
        }
    }

  private:
    std::string component_;
    std::function<void()> counted_;
    std::atomic<std::uint64_t> caught_{0};
    std::mutex mu_;  // guards the rate limit below
    bool logged_ = false;
    std::chrono::steady_clock::time_point last_{};
    std::uint64_t suppressed_ = 0;
};

}  // namespace ari
