// De-duplication of NOTIFY transactions: window, capacity, source-agnostic keys, and a
// randomised comparison against a simple model to check the open-addressing index.
#include "intake/notify_deduplicator.hpp"
#include "intake/notify_event.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <random>
#include <tuple>

namespace {

using talkgate::intake::NotifyDeduplicator;
using talkgate::intake::NotifyEvent;
using talkgate::intake::NotifySource;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

TEST(NotifyDeduplicator, PassesTheFirstCopyAndDropsRetransmissions) {
    NotifyDeduplicator d;
    const auto t0 = Clock::now();
    EXPECT_TRUE(d.first_seen("call-a", 5, "NOTIFY", t0));
    for (int i = 1; i <= 6; ++i) EXPECT_FALSE(d.first_seen("call-a", 5, "NOTIFY", t0 + i * 500ms));
    EXPECT_TRUE(d.first_seen("call-a", 6, "NOTIFY", t0 + 1s)) << "next CSeq is a new transaction";
    EXPECT_TRUE(d.first_seen("call-b", 5, "NOTIFY", t0 + 1s)) << "other Call-ID";
    EXPECT_TRUE(d.first_seen("call-a", 5, "INFO", t0 + 1s)) << "other method";
    EXPECT_EQ(d.stats().first, 4u);
    EXPECT_EQ(d.stats().duplicates, 6u);
    EXPECT_EQ(d.size(), 4u);
}

TEST(NotifyDeduplicator, IsSourceAgnostic) {
    NotifyDeduplicator d;
    NotifyEvent hep;
    hep.call_id = "c1";
    hep.cseq = 9;
    hep.source = NotifySource::hep;
    hep.source_address = "127.0.0.2:5060";
    hep.received_at = Clock::now();
    NotifyEvent ami = hep;
    ami.source = NotifySource::ami;
    ami.source_address.clear();
    ami.received_at += 20ms;
    NotifyEvent ari = ami;
    ari.source = NotifySource::ari;
    EXPECT_TRUE(d.first_seen(hep));
    EXPECT_FALSE(d.first_seen(ami));
    EXPECT_FALSE(d.first_seen(ari));
}

TEST(NotifyDeduplicator, ForgetsKeysAfterTheWindow) {
    NotifyDeduplicator::Settings s;
    s.window = 32s;
    NotifyDeduplicator d(s);
    const auto t0 = Clock::now();
    EXPECT_TRUE(d.first_seen("c", 1, "NOTIFY", t0));
    EXPECT_FALSE(d.first_seen("c", 1, "NOTIFY", t0 + 31999ms));
    EXPECT_TRUE(d.first_seen("c", 1, "NOTIFY", t0 + 32s));
    EXPECT_EQ(d.size(), 1u) << "the expired key was dropped, the new one kept";
}

TEST(NotifyDeduplicator, MemoryIsBoundedByCapacity) {
    NotifyDeduplicator::Settings s;
    s.capacity = 100;
    NotifyDeduplicator d(s);
    const auto t0 = Clock::now();
    for (std::uint32_t i = 0; i < 1000; ++i) {
        EXPECT_TRUE(d.first_seen("call", i, "NOTIFY", t0));
        EXPECT_LE(d.size(), 100u);
    }
    EXPECT_EQ(d.stats().evicted, 900u);
    EXPECT_FALSE(d.first_seen("call", 999, "NOTIFY", t0)) << "the newest keys are kept";
    EXPECT_FALSE(d.first_seen("call", 900, "NOTIFY", t0));
    EXPECT_TRUE(d.first_seen("call", 899, "NOTIFY", t0)) << "the oldest were evicted";
}

// The model: the same semantics with a std::map and a deque, no cleverness.
class Model {
  public:
    Model(std::chrono::milliseconds window, std::size_t capacity)
        : window_(window), capacity_(capacity) {}
    bool first_seen(const std::string& c, std::uint32_t n, const std::string& m,
                    Clock::time_point t) {
        while (!fifo_.empty() && t - fifo_.front().second >= window_) drop();
        auto key = std::make_tuple(c, n, m);
        if (live_.count(key)) return false;
        if (fifo_.size() == capacity_) drop();
        fifo_.emplace_back(key, t);
        live_.insert({key, true});
        return true;
    }

  private:
    using Key = std::tuple<std::string, std::uint32_t, std::string>;
    void drop() {
        live_.erase(fifo_.front().first);
        fifo_.pop_front();
    }
    std::chrono::milliseconds window_;
    std::size_t capacity_;
    std::deque<std::pair<Key, Clock::time_point>> fifo_;
    std::map<Key, bool> live_;
};

TEST(NotifyDeduplicator, AgreesWithASimpleModelOnRandomTraffic) {
    for (std::size_t capacity : {1u, 2u, 7u, 64u, 1000u}) {
        NotifyDeduplicator::Settings s;
        s.capacity = capacity;
        s.window = 5s;
        NotifyDeduplicator d(s);
        Model model(s.window, capacity);
        std::mt19937 rng(static_cast<unsigned>(capacity));
        auto t = Clock::now();
        for (int i = 0; i < 20000; ++i) {
            t += std::chrono::milliseconds(rng() % 20);
            const std::string call = "call-" + std::to_string(rng() % 50);
            const std::uint32_t cseq = rng() % 4;
            const std::string method = rng() % 8 == 0 ? "INFO" : "NOTIFY";
            ASSERT_EQ(d.first_seen(call, cseq, method, t), model.first_seen(call, cseq, method, t))
                << "capacity " << capacity << " step " << i;
            ASSERT_LE(d.size(), capacity);
        }
    }
}

}  // namespace
