#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace talkgate::intake {

struct NotifyEvent;

// Remembers which NOTIFY transactions (Call-ID + CSeq + method) were seen within a window, so
// that each acts once: Genesys retransmits an unanswered NOTIFY over UDP for 32 s, and the same
// NOTIFY may come from HEP and from an AMI/ARI user event. The key holds no source.
// Memory is bounded: a fixed ring of `capacity` entries in arrival order and an open-addressing
// index over it; expiry and eviction take the oldest entry, so every call is O(1) amortised.
// Not thread-safe: use it from one executor (the controller's).
class NotifyDeduplicator {
  public:
    struct Settings {
        // Longer than Genesys's 32 s of retransmissions (Timer F), plus slack for late sources.
        std::chrono::milliseconds window{40000};
        // Most keys held; when full the oldest is forgotten early (counted in `evicted`).
        std::size_t capacity = 16384;
    };

    struct Stats {
        std::uint64_t first = 0;       // keys seen for the first time
        std::uint64_t duplicates = 0;  // repeats within the window
        std::uint64_t evicted = 0;     // keys dropped before their window ended (ring full)
    };

    NotifyDeduplicator();
    explicit NotifyDeduplicator(Settings settings);

    // True the first time the key is seen within the window; false for a repeat.
    bool first_seen(std::string_view call_id, std::uint32_t cseq, std::string_view method,
                    std::chrono::steady_clock::time_point now);
    // The same for a NotifyEvent (method NOTIFY, at its received_at).
    bool first_seen(const NotifyEvent& event);

    std::size_t size() const { return count_; }
    const Stats& stats() const { return stats_; }
    const Settings& settings() const { return settings_; }

  private:
    struct Slot {
        std::uint64_t hash = 0;
        std::uint32_t cseq = 0;
        std::string call_id;  // keeps its capacity when reused: no allocation in steady state
        std::string method;
        std::chrono::steady_clock::time_point at{};
    };

    void expire(std::chrono::steady_clock::time_point now);
    void drop_oldest();
    void unindex(std::size_t slot);
    std::size_t home(std::uint64_t hash) const { return static_cast<std::size_t>(hash) & mask_; }

    Settings settings_;
    std::vector<Slot> ring_;           // FIFO of keys; oldest at head_
    std::size_t head_ = 0;             // index of the oldest key
    std::size_t count_ = 0;            // keys held
    std::vector<std::int32_t> index_;  // slot number or -1; size a power of two >= 2*capacity
    std::size_t mask_ = 0;
    Stats stats_;
};

}  // namespace talkgate::intake
