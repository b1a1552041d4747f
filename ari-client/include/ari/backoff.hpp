#pragma once

#include <chrono>
#include <cstdint>

namespace ari {

// Capped exponential backoff with multiplicative jitter; reset() after a healthy connection.
class Backoff {
  public:
    Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, double jitter,
            std::uint64_t seed);
    // The delay before the next attempt, and counts the attempt.
    std::chrono::milliseconds next();
    void reset() { attempt_ = 0; }
    int attempt() const { return attempt_; }

  private:
    std::chrono::milliseconds initial_;
    std::chrono::milliseconds max_;
    double jitter_;
    std::uint64_t state_;  // xorshift state: deterministic in tests, per-client otherwise
    int attempt_ = 0;
};

}  // namespace ari
