#include "ari/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace ari {

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, double jitter,
                 std::uint64_t seed)
    : initial_(std::max(initial, std::chrono::milliseconds(1))),
      max_(std::max(max, initial_)),
      jitter_(std::clamp(jitter, 0.0, 1.0)),
      state_(seed ? seed : 0x9e3779b97f4a7c15ull) {}

std::chrono::milliseconds Backoff::next() {
    const double base = std::min(static_cast<double>(max_.count()),
                                 initial_.count() * std::pow(2.0, std::min(attempt_, 30)));
    ++attempt_;
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    const double unit = static_cast<double>(state_ >> 11) / static_cast<double>(1ull << 53);
    const double factor = 1.0 + jitter_ * (2.0 * unit - 1.0);
    const double capped = std::min(base * factor, static_cast<double>(max_.count()));
    return std::chrono::milliseconds(static_cast<long long>(std::max(1.0, capped)));
}

}  // namespace ari
