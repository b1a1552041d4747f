// The live web page's controller side: NOTIFY -> answer latency per DN (bounded, windowed) and
// the LiveFeed that turns a burst of changes into one view, only while someone watches.
#include "controller/answer_latency.hpp"
#include "controller/live_feed.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

namespace talkgate::controller {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(AnswerLatencyByDn, PercentilesPerDnOverTheWindow) {
    AnswerLatencyByDn latency;
    const auto t0 = Clock::now();
    for (int i = 1; i <= 20; ++i) latency.record("1002", t0 + i * 1s, i * 1ms);
    latency.record("1003", t0, 7ms);
    auto views = latency.summaries(t0 + 30s);
    ASSERT_EQ(views.size(), 2u);
    EXPECT_EQ(views[0].dn, "1002");
    EXPECT_EQ(views[0].answers, 20u);
    EXPECT_DOUBLE_EQ(views[0].p50_ms, 10);
    EXPECT_DOUBLE_EQ(views[0].p95_ms, 19);
    EXPECT_DOUBLE_EQ(views[0].max_ms, 20);
    EXPECT_DOUBLE_EQ(views[0].last_ms, 20);
    EXPECT_EQ(views[1].dn, "1003");
    EXPECT_DOUBLE_EQ(views[1].p95_ms, 7);

    // An hour later DN 1003's answer left the window, and 1002's first ten did too.
    views = latency.summaries(t0 + 3600s + 10500ms);
    ASSERT_EQ(views.size(), 1u);
    EXPECT_EQ(views[0].answers, 10u);
    EXPECT_DOUBLE_EQ(views[0].p50_ms, 15);
    EXPECT_EQ(latency.dns(), 1u);
}

TEST(AnswerLatencyByDn, BoundedInDnsAndSamples) {
    AnswerLatencyByDn::Limits limits;
    limits.max_dns = 3;
    limits.samples_per_dn = 4;
    AnswerLatencyByDn latency(limits);
    const auto t0 = Clock::now();
    for (int i = 0; i < 10; ++i) latency.record("1001", t0 + i * 1ms, 1ms * (i + 1));
    latency.record("1002", t0 + 20ms, 1ms);
    latency.record("1003", t0 + 30ms, 1ms);
    latency.record("1001", t0 + 40ms, 100ms);  // 1001 heard from last: 1002 is the quietest
    latency.record("1004", t0 + 50ms, 1ms);
    EXPECT_EQ(latency.dns(), 3u);
    const auto views = latency.summaries(t0 + 1s);
    ASSERT_EQ(views.size(), 3u);
    EXPECT_EQ(views[0].dn, "1001");
    EXPECT_EQ(views[0].answers, 4u);  // the newest four
    EXPECT_DOUBLE_EQ(views[0].max_ms, 100);
    EXPECT_EQ(views[1].dn, "1003");
    EXPECT_EQ(views[2].dn, "1004");
}

class CountingWatcher : public status::LiveWatcher {
  public:
    bool watching() const override { return watching_; }
    void changed(status::LiveView view) override { seqs.push_back(view.seq); }
    bool watching_ = true;
    std::vector<std::uint64_t> seqs;
};

TEST(LiveFeed, ABurstOfChangesIsOneViewAndNoneIsBuiltWhileNobodyWatches) {
    boost::asio::io_context io;
    std::uint64_t built = 0;
    auto feed =
        std::make_shared<LiveFeed>(io, 20ms, std::make_shared<ari::HandlerGuard>("test"), [&] {
            status::LiveView v;
            v.seq = ++built;
            return v;
        });
    auto watcher = std::make_shared<CountingWatcher>();
    feed->watch(watcher);
    for (int i = 0; i < 50; ++i) feed->changed();
    io.run_for(200ms);
    EXPECT_EQ(watcher->seqs, std::vector<std::uint64_t>{1});

    watcher->watching_ = false;
    feed->changed();
    io.restart();
    io.run_for(100ms);
    EXPECT_EQ(built, 1u);

    watcher->watching_ = true;
    feed->changed();
    feed->stop();  // a stopped feed publishes nothing more
    io.restart();
    io.run_for(100ms);
    EXPECT_EQ(built, 1u);
    EXPECT_EQ(watcher->seqs.size(), 1u);
}

}  // namespace
}  // namespace talkgate::controller
