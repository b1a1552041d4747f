#include "controller/answer_latency.hpp"

#include <algorithm>

namespace talkgate::controller {

void AnswerLatencyByDn::record(const std::string& dn, TimePoint at,
                               std::chrono::nanoseconds latency) {
    if (limits_.max_dns == 0 || limits_.samples_per_dn == 0) return;
    if (by_dn_.find(dn) == by_dn_.end() && by_dn_.size() >= limits_.max_dns) evict_quietest();
    auto& s = by_dn_[dn];
    if (s.samples.size() >= limits_.samples_per_dn) s.samples.pop_front();
    s.samples.push_back({at, std::chrono::duration<float, std::milli>(latency).count()});
    s.view.reset();
}

void AnswerLatencyByDn::evict_quietest() {
    auto quietest = by_dn_.end();
    for (auto it = by_dn_.begin(); it != by_dn_.end(); ++it) {
        if (quietest == by_dn_.end() || it->second.samples.empty() ||
            (!quietest->second.samples.empty() &&
             it->second.samples.back().at < quietest->second.samples.back().at))
            quietest = it;
    }
    if (quietest != by_dn_.end()) by_dn_.erase(quietest);
}

std::vector<status::DnLatencyView> AnswerLatencyByDn::summaries(TimePoint now) {
    std::vector<status::DnLatencyView> out;
    std::vector<float> sorted;
    for (auto it = by_dn_.begin(); it != by_dn_.end();) {
        auto& s = it->second;
        while (!s.samples.empty() && now - s.samples.front().at > limits_.window) {
            s.samples.pop_front();
            s.view.reset();
        }
        if (s.samples.empty()) {
            it = by_dn_.erase(it);
            continue;
        }
        if (!s.view) {
            sorted.clear();
            for (const auto& x : s.samples) sorted.push_back(x.ms);
            std::sort(sorted.begin(), sorted.end());
            // Nearest rank: the smallest sample with at least p of them at or below it.
            auto rank = [&](std::size_t percent) {
                const std::size_t i = (percent * sorted.size() + 99) / 100;  // ceil, in integers
                return static_cast<double>(
                    sorted[std::clamp<std::size_t>(i, 1, sorted.size()) - 1]);
            };
            status::DnLatencyView v;
            v.dn = it->first;
            v.answers = sorted.size();
            v.p50_ms = rank(50);
            v.p95_ms = rank(95);
            v.max_ms = sorted.back();
            v.last_ms = s.samples.back().ms;
            s.view = std::move(v);
        }
        out.push_back(*s.view);
        ++it;
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.dn < b.dn; });
    return out;
}

}  // namespace talkgate::controller
