// The status adapter: the flow's calls as the status API shows them, from a real CallFlow.
#include "controller/status_adapter.hpp"

#include <gtest/gtest.h>

namespace talkgate::controller {
namespace {

using namespace std::chrono_literals;

TEST(StatusAdapter, CallViewsCarryIdentityStateAndEpochTimes) {
    Config config;
    config.answer_policy_per_dn["1003"] = AnswerPolicy::off;
    flow::FlowObserver quiet;
    flow::CallFlow flow(config, quiet);
    const flow::TimePoint t0{};
    flow.handle(flow::GenesysLegEntered{"g1", "PJSIP/genesys-1", "1002", "cid-1", "U1"}, t0);
    flow.handle(flow::AgentLegEntered{"g1-agent", "PJSIP/1002-1", "g1"}, t0 + 1s);
    flow.handle(flow::ChannelRinging{"g1-agent"}, t0 + 2s);
    flow.handle(flow::GenesysLegEntered{"g2", "PJSIP/genesys-2", "1003", "cid-2", ""}, t0 + 3s);

    // t0 + 10 s on the steady clock is 1'000'010 s after the epoch on the wall clock.
    const auto wall = std::chrono::system_clock::time_point(1000010s);
    auto views = call_views(flow.registry(), t0 + 10s, wall);
    ASSERT_EQ(views.size(), 2u);
    const auto& v = views[0];
    EXPECT_EQ(v.id, "g1");
    EXPECT_EQ(v.dn, "1002");
    EXPECT_EQ(v.state, "ringing");
    EXPECT_EQ(v.call_id, "cid-1");
    EXPECT_EQ(v.call_uuid, "U1");
    EXPECT_EQ(v.genesys_channel, "g1");
    EXPECT_EQ(v.agent_channel, "g1-agent");
    EXPECT_EQ(v.bridge, "") << "a bridge shows only once the call is connected or held";
    EXPECT_EQ(v.policy, "notify");
    EXPECT_EQ(v.created_ms, 1000000000);
    ASSERT_TRUE(v.ringing_ms);
    EXPECT_EQ(*v.ringing_ms, 1000002000);
    EXPECT_FALSE(v.notify_talk_ms);
    EXPECT_FALSE(v.answered_ms);
    EXPECT_FALSE(v.held);
    EXPECT_EQ(views[1].state, "offered");
    EXPECT_EQ(views[1].policy, "off");

    flow.handle(flow::ChannelAnswered{"g1-agent"}, t0 + 4s);
    flow.handle(flow::BridgeEstablished{"g1"}, t0 + 5s);
    flow::NotifyReceived hold;
    hold.kind = flow::NotifyKind::hold;
    hold.event_name = "hold";
    hold.call_id = "cid-1";
    hold.dn = "1002";
    flow.handle(hold, t0 + 6s);
    views = call_views(flow.registry(), t0 + 10s, wall);
    EXPECT_EQ(views[0].state, "held");
    EXPECT_TRUE(views[0].held);
    EXPECT_EQ(views[0].bridge, "g1-bridge");
    ASSERT_TRUE(views[0].answered_ms);
    EXPECT_EQ(*views[0].answered_ms, 1000005000);
}

TEST(StatusAdapter, ManualAnswerOutcomesMapOneToOne) {
    EXPECT_EQ(to_status(flow::ManualAnswerOutcome::requested), status::AnswerOutcome::requested);
    EXPECT_EQ(to_status(flow::ManualAnswerOutcome::no_such_call),
              status::AnswerOutcome::no_such_call);
    EXPECT_EQ(to_status(flow::ManualAnswerOutcome::not_ringing),
              status::AnswerOutcome::not_ringing);
}

}  // namespace
}  // namespace talkgate::controller
