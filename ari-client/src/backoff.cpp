#include "ari/backoff.hpp"

#include <algorithm>

namespace ari {

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, double jitter,
                 std::uint64_t seed)
    : initial_(std::max(initial, std::chrono::milliseconds(1))),
      max_(std::max(max, initial_)),
      jitter_(std::clamp(jitter, 0.0, 1.0)),
      state_(seed ? seed : 0x9e3779b97f4a7c15ull) {}

std::chrono::milliseconds Backoff::next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    const double unit = static_cast<double>(state_ >> 11) / static_cast<double>(1ull << 53);
    return backoff_delay(initial_, max_, static_cast<unsigned>(attempt_++), jitter_, unit);
}

}  // namespace ari
