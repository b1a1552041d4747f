#pragma once

#include <chrono>
#include <cstdint>

namespace talkgate::logging {

// At most one log line per interval for one kind of trouble; the lines it held back are
// counted and reported with the next one. Not thread-safe: one per executor.
class RateLimit {
  public:
    explicit RateLimit(std::chrono::steady_clock::duration interval = std::chrono::seconds(10))
        : interval_(interval) {}

    // True when a line may be logged now; `held_back` is then how many were not logged since.
    bool allow(std::uint64_t& held_back,
               std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now()) {
        if (logged_ && now - last_ < interval_) {
            ++held_back_;
            return false;
        }
        held_back = held_back_;
        held_back_ = 0;
        logged_ = true;
        last_ = now;
        return true;
    }

  private:
    std::chrono::steady_clock::duration interval_;
    bool logged_ = false;
    std::chrono::steady_clock::time_point last_{};
    std::uint64_t held_back_ = 0;
};

}  // namespace talkgate::logging
