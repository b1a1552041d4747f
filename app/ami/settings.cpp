#include "ami/settings.hpp"

#include <ari/backoff.hpp>

namespace talkgate::ami {

std::chrono::milliseconds backoff_delay(unsigned attempt, const Settings& settings,
                                        double unit_random) {
    return ari::backoff_delay(settings.reconnect_min, settings.reconnect_max, attempt,
                              settings.reconnect_jitter, unit_random);
}

}  // namespace talkgate::ami
