#pragma once

#include "status/status_source.hpp"

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace talkgate::controller {

// NOTIFY talk -> Genesys answered, per DN, over a sliding window (the web page's figures).
// Bounded: at most max_dns DNs (the one heard from least recently goes first) and the newest
// samples_per_dn answers per DN, 16 bytes each: about 2.5 MiB with the defaults' 1000 x 128.
// Lives on the controller's thread; no locking.
class AnswerLatencyByDn {
  public:
    using TimePoint = std::chrono::steady_clock::time_point;
    struct Limits {
        std::size_t max_dns = 1000;
        std::size_t samples_per_dn = 128;
        std::chrono::seconds window{3600};
    };

    AnswerLatencyByDn() = default;
    explicit AnswerLatencyByDn(Limits limits) : limits_(limits) {}

    void record(const std::string& dn, TimePoint at, std::chrono::nanoseconds latency);
    // Every DN with an answer inside the window, ordered by DN; forgets what left the window.
    std::vector<status::DnLatencyView> summaries(TimePoint now);
    std::size_t dns() const { return by_dn_.size(); }
    const Limits& limits() const { return limits_; }

  private:
    struct Sample {
        TimePoint at;
        float ms;
    };
    struct Samples {
        std::deque<Sample> samples;                 // oldest first
        std::optional<status::DnLatencyView> view;  // cached until the samples change
    };
    void evict_quietest();

    Limits limits_;
    std::unordered_map<std::string, Samples> by_dn_;
};

}  // namespace talkgate::controller
