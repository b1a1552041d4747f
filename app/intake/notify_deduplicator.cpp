#include "notify_deduplicator.hpp"

#include "notify_event.hpp"

#include <algorithm>
#include <functional>

namespace talkgate::intake {

namespace {

std::uint64_t mix(std::uint64_t x) {
    // splitmix64 finaliser: spreads the combined hash over the low bits the index uses
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

std::uint64_t key_hash(std::string_view call_id, std::uint32_t cseq, std::string_view method) {
    const std::uint64_t a = std::hash<std::string_view>{}(call_id);
    const std::uint64_t b = std::hash<std::string_view>{}(method);
    return mix(a ^ mix(b + cseq));
}

}  // namespace

NotifyDeduplicator::NotifyDeduplicator() : NotifyDeduplicator(Settings{}) {}

NotifyDeduplicator::NotifyDeduplicator(Settings settings) : settings_(settings) {
    settings_.capacity = std::clamp<std::size_t>(settings_.capacity, 1, std::size_t{1} << 24);
    ring_.resize(settings_.capacity);
    std::size_t n = 2;
    while (n < 2 * settings_.capacity) n <<= 1;
    index_.assign(n, -1);
    mask_ = n - 1;
}

bool NotifyDeduplicator::first_seen(const NotifyEvent& event) {
    return first_seen(event.call_id, event.cseq, "NOTIFY", event.received_at);
}

bool NotifyDeduplicator::first_seen(std::string_view call_id, std::uint32_t cseq,
                                    std::string_view method,
                                    std::chrono::steady_clock::time_point now) {
    expire(now);
    const std::uint64_t h = key_hash(call_id, cseq, method);
    for (std::size_t pos = home(h); index_[pos] >= 0; pos = (pos + 1) & mask_) {
        const Slot& s = ring_[static_cast<std::size_t>(index_[pos])];
        if (s.hash == h && s.cseq == cseq && s.call_id == call_id && s.method == method) {
            ++stats_.duplicates;
            return false;
        }
    }
    if (count_ == ring_.size()) {
        drop_oldest();
        ++stats_.evicted;
    }
    const std::size_t slot = (head_ + count_) % ring_.size();
    Slot& s = ring_[slot];
    s.hash = h;
    s.cseq = cseq;
    s.call_id.assign(call_id.data(), call_id.size());
    s.method.assign(method.data(), method.size());
    s.at = now;
    std::size_t pos = home(h);
    while (index_[pos] >= 0) pos = (pos + 1) & mask_;
    index_[pos] = static_cast<std::int32_t>(slot);
    ++count_;
    ++stats_.first;
    return true;
}

void NotifyDeduplicator::expire(std::chrono::steady_clock::time_point now) {
    while (count_ > 0 && now - ring_[head_].at >= settings_.window) drop_oldest();
}

void NotifyDeduplicator::drop_oldest() {
    unindex(head_);
    head_ = (head_ + 1) % ring_.size();
    --count_;
}

void NotifyDeduplicator::unindex(std::size_t slot) {
    std::size_t i = home(ring_[slot].hash);
    while (index_[i] != static_cast<std::int32_t>(slot)) i = (i + 1) & mask_;
    // Backward-shift deletion keeps every probe chain unbroken without tombstones.
    std::size_t j = i;
    while (true) {
        j = (j + 1) & mask_;
        if (index_[j] < 0) break;
        const std::size_t k = home(ring_[static_cast<std::size_t>(index_[j])].hash);
        const bool between = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (between) continue;
        index_[i] = index_[j];
        i = j;
    }
    index_[i] = -1;
}

}  // namespace talkgate::intake
