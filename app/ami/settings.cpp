#include "ami/settings.hpp"

#include <algorithm>

namespace talkgate::ami {

std::chrono::milliseconds backoff_delay(unsigned attempt, const Settings& settings,
                                        double unit_random) {
    const auto max = std::max(settings.reconnect_max, settings.reconnect_min);
    auto delay = settings.reconnect_min;
    for (unsigned i = 0; i < attempt && delay < max; ++i) delay *= 2;
    delay = std::min(delay, max);
    const double jitter = std::clamp(settings.reconnect_jitter, 0.0, 1.0);
    const double u = std::clamp(unit_random, 0.0, 1.0);
    const auto cut = static_cast<std::chrono::milliseconds::rep>(
        static_cast<double>(delay.count()) * jitter * u);
    return delay - std::chrono::milliseconds(cut);
}

}  // namespace talkgate::ami
