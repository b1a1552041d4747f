#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace ari {

// The one reconnect delay rule (ARI events, AMI): initial * 2^attempt capped at max, then
// shortened by up to `jitter` of itself (`unit` in [0, 1)), so clients spread apart and no
// delay ever exceeds the cap.
inline std::chrono::milliseconds backoff_delay(std::chrono::milliseconds initial,
                                               std::chrono::milliseconds max, unsigned attempt,
                                               double jitter, double unit) {
    max = std::max(max, initial);
    auto delay = initial;
    for (unsigned i = 0; i < attempt && delay < max; ++i) delay *= 2;
    delay = std::min(delay, max);
    const double share = std::clamp(jitter, 0.0, 1.0) * std::clamp(unit, 0.0, 1.0);
    const auto cut =
        static_cast<std::chrono::milliseconds::rep>(static_cast<double>(delay.count()) * share);
    return std::max(delay - std::chrono::milliseconds(cut), std::chrono::milliseconds(1));
}

// backoff_delay() with its attempt count and a per-client random source; reset() after a
// healthy connection.
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
