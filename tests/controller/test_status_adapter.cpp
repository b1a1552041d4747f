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

TEST(StatusAdapter, TraceAndRecentViewsOfAnEndedCall) {
    Config config;
    flow::FlowObserver quiet;
    flow::CallFlow flow(config, quiet);
    const flow::TimePoint t0{};
    flow.handle(flow::GenesysLegEntered{"g1", "PJSIP/genesys-1", "1002", "cid-1", "U1"}, t0);
    flow.handle(flow::AgentLegEntered{"g1-agent", "PJSIP/1002-1", "g1"}, t0 + 1s);
    flow.handle(flow::ChannelGone{"g1-agent", 17}, t0 + 2s);
    flow::TraceStep late;
    late.at = t0 + 2500ms;
    late.kind = flow::TraceKind::answer_action;
    late.latency = 1500us;
    flow.record("g1", late);
    const auto wall = std::chrono::system_clock::time_point(1000010s);

    auto trace = trace_view(flow.registry(), "g1", t0 + 10s, wall);
    ASSERT_TRUE(trace);
    EXPECT_FALSE(trace->live);
    EXPECT_EQ(trace->outcome, "busy");
    EXPECT_EQ(trace->ended_ms.value_or(0), 1000002000);
    ASSERT_EQ(trace->steps.size(), 6u);
    EXPECT_EQ(trace->steps[2].step, "agent_dialled");
    EXPECT_EQ(trace->steps[2].t_ms, 1000.0);
    EXPECT_EQ(trace->steps[2].at_ms, 1000001000);
    EXPECT_EQ(trace->steps[3].step, "hangup");
    EXPECT_EQ(trace->steps[3].source, "agent");
    EXPECT_EQ(trace->steps[3].cause, 17);
    EXPECT_EQ(trace->steps[5].latency_ms.value_or(0), 1.5);
    EXPECT_FALSE(trace_view(flow.registry(), "nope", t0 + 10s, wall));

    flow.handle(flow::GenesysLegEntered{"g2", "PJSIP/genesys-2", "1003", "cid-2", ""}, t0 + 3s);
    flow.handle(flow::ChannelGone{"g2", 16}, t0 + 4s);
    auto recent = recent_views(flow.registry(), t0 + 10s, wall);
    ASSERT_EQ(recent.size(), 2u);
    EXPECT_EQ(recent[0].call.id, "g2") << "newest first";
    EXPECT_EQ(recent[0].outcome, "cancelled");
    EXPECT_EQ(recent[1].outcome, "busy");
    EXPECT_EQ(recent[1].steps, 6u);
    EXPECT_EQ(recent[1].call.state, "ended");
}

}  // namespace
}  // namespace talkgate::controller
