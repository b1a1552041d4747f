// The gateway lease against a real redis-server: one holder at a time, a standby takes over
// after the active stops renewing, a holder that finds another's token steps down, and a
// Redis restart keeps the active one active (the standby waits a whole ttl first).
#include "ha/gateway_lease.hpp"

#include "polling.hpp"
#include "redis_server.hpp"

#include <gtest/gtest.h>

namespace talkgate::ha {
namespace {

using namespace std::chrono_literals;
using test::RedisServer;
using test::run_io_until;

constexpr auto kTtl = 900ms;

struct Node {
    std::shared_ptr<RedisClient> redis;
    std::shared_ptr<GatewayLease> lease;
    std::vector<std::int64_t> acquired;
    std::vector<std::string> lost;

    Node(boost::asio::io_context& io, const RedisServer& server, const std::string& holder) {
        RedisClient::Options ro;
        ro.endpoint.host = "127.0.0.1";
        ro.endpoint.port = static_cast<unsigned short>(server.port());
        ro.endpoint.password = server.password();
        ro.command_timeout = 200ms;
        ro.connect_timeout = 200ms;
        ro.reconnect_max = 200ms;
        auto slot = std::make_shared<std::weak_ptr<GatewayLease>>();
        redis = std::make_shared<RedisClient>(io, ro, [slot](bool up, const std::string&) {
            if (auto l = slot->lock()) l->redis_state(up);
        });
        GatewayLease::Options lo;
        lo.key = "talkgate:lease:test@gw1";
        lo.fence_key = lo.key + ":fence";
        lo.holder = holder;
        lo.ttl = kTtl;
        GatewayLease::Hooks hooks;
        hooks.acquired = [this](std::int64_t f) { acquired.push_back(f); };
        hooks.lost = [this](const std::string& why) { lost.push_back(why); };
        lease = std::make_shared<GatewayLease>(io, redis, lo, hooks);
        *slot = lease;
        redis->start();
        lease->start();
    }
    ~Node() {
        lease->stop();
        redis->stop();
    }
};

TEST(GatewayLease, OneHolderAtATimeAndTheStandbyTakesOverWhenRenewalsStop) {
    RedisServer server;
    ASSERT_TRUE(server.start());
    boost::asio::io_context io;
    auto a = std::make_unique<Node>(io, server, "a");
    // A fresh connection waits one ttl before its first try: a's comes first here.
    ASSERT_TRUE(run_io_until(
        io, [&] { return a->lease->active(); }, 300));
    Node b(io, server, "b");
    test::run_io_for(io, 250);  // 2.5 ttl: b tries and finds the lease held
    EXPECT_TRUE(a->lease->active());
    EXPECT_FALSE(b.lease->active());
    EXPECT_EQ(server.cli("GET talkgate:lease:test@gw1"), "a " + std::to_string(a->acquired.at(0)));

    const auto fence_a = a->lease->fence();
    // As a SIGKILL: no more renewals, nothing handed back.
    a->redis->stop();
    test::run_io_for(io, 2);
    a->lease->stop();
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(run_io_until(
        io, [&] { return b.lease->active(); }, 300));
    const auto took = std::chrono::steady_clock::now() - t0;
    // Not before the lease expired; within its ttl plus one try interval (and slack).
    EXPECT_GE(took, kTtl - 350ms);
    EXPECT_GT(b.lease->fence(), fence_a);
    EXPECT_EQ(b.acquired.size(), 1u);
    EXPECT_TRUE(b.lost.empty());
}

TEST(GatewayLease, AStoppedActiveHandsTheLeaseBackAndTheStandbyTakesItAtItsNextTry) {
    RedisServer server;
    ASSERT_TRUE(server.start());
    boost::asio::io_context io;
    Node a(io, server, "a");
    ASSERT_TRUE(run_io_until(
        io, [&] { return a.lease->active(); }, 300));
    Node b(io, server, "b");
    test::run_io_for(io, 150);
    ASSERT_FALSE(b.lease->active());
    bool handed_back = false;
    a.lease->stop([&] { handed_back = true; });
    ASSERT_TRUE(run_io_until(
        io, [&] { return handed_back; }, 100));
    EXPECT_FALSE(a.lease->active());
    // Gone at once, not left to expire: b's next try (a third of the ttl) finds it free.
    const auto value = server.cli("GET talkgate:lease:test@gw1");
    EXPECT_TRUE(value.empty() || value.rfind("b ", 0) == 0) << value;
    ASSERT_TRUE(run_io_until(
        io, [&] { return b.lease->active(); }, 300));
    EXPECT_EQ(b.acquired.size(), 1u);
}

TEST(GatewayLease, AHolderThatFindsAnotherTokenStepsDown) {
    RedisServer server;
    ASSERT_TRUE(server.start());
    boost::asio::io_context io;
    Node a(io, server, "a");
    ASSERT_TRUE(run_io_until(
        io, [&] { return a.lease->active(); }, 300));
    // Another controller was elected while this one could not reach Redis.
    EXPECT_EQ(server.cli("SET talkgate:lease:test@gw1 'other 999' PX 5000"), "OK");
    ASSERT_TRUE(run_io_until(
        io, [&] { return !a.lost.empty(); }, 300));
    EXPECT_FALSE(a.lease->active());
    EXPECT_NE(a.lost[0].find("another talkgate"), std::string::npos);
    test::run_io_for(io, 150);
    EXPECT_EQ(a.lost.size(), 1u);  // said once; it does not fight for the lease
    EXPECT_EQ(server.cli("GET talkgate:lease:test@gw1"), "other 999");
}

TEST(GatewayLease, ARedisRestartedEmptyKeepsTheActiveActiveAndTheStandbyStandby) {
    RedisServer server;
    ASSERT_TRUE(server.start());
    boost::asio::io_context io;
    Node a(io, server, "a");
    ASSERT_TRUE(run_io_until(
        io, [&] { return a.lease->active(); }, 300));
    Node b(io, server, "b");
    test::run_io_for(io, 150);
    ASSERT_FALSE(b.lease->active());
    const auto fence_a = a.lease->fence();

    server.kill();
    test::run_io_for(io, 250);  // Redis away for well over a ttl: a serves on alone
    EXPECT_TRUE(a.lease->active());
    EXPECT_FALSE(a.redis->up());
    EXPECT_FALSE(b.lease->active());

    ASSERT_TRUE(server.start());  // empty: no lease, no fence
    ASSERT_TRUE(run_io_until(
        io, [&] { return a.redis->up() && b.redis->up(); }, 300));
    test::run_io_for(io, 300);  // three ttl: b had every chance to grab it
    EXPECT_TRUE(a.lease->active());
    EXPECT_FALSE(b.lease->active());
    EXPECT_TRUE(a.lost.empty());
    EXPECT_TRUE(b.acquired.empty());
    // Taken again under a fence above the old one, though Redis forgot the counter.
    EXPECT_GT(a.lease->fence(), fence_a);
    EXPECT_EQ(server.cli("GET talkgate:lease:test@gw1"), "a " + std::to_string(a.lease->fence()));
}

}  // namespace
}  // namespace talkgate::ha
