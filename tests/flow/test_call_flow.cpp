// The call flow as a pure state machine: events in, commands out, with a fake clock.
#include "flow/call_flow.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include <map>
#include <optional>

namespace talkgate::flow {
namespace {

using namespace std::chrono_literals;

struct RecordingObserver : FlowObserver {
    int received = 0, unmatched = 0, answers = 0, answered = 0;
    std::vector<std::string> ended;
    std::vector<std::string> repairs;
    std::chrono::nanoseconds last_answer_latency{-1};
    void notify_received(const NotifyReceived&) override { ++received; }
    void notify_unmatched(const NotifyReceived&) override { ++unmatched; }
    void answer_requested(const Call&, std::chrono::nanoseconds d) override {
        ++answers;
        last_answer_latency = d;
    }
    void genesys_answered(const Call&, std::chrono::nanoseconds) override { ++answered; }
    void call_ended(const Call&, const std::string& outcome) override { ended.push_back(outcome); }
    void resync_repair(const std::string& a) override { repairs.push_back(a); }
    std::vector<std::string> rejected, dropped;
    void notify_rejected(const NotifyReceived&, const char* reason) override {
        rejected.push_back(reason);
    }
    void header_dropped(const char* where) override { dropped.push_back(where); }
};

template <class T>
std::vector<T> all_of(const Commands& cmds) {
    std::vector<T> out;
    for (const auto& c : cmds) {
        if (auto p = std::get_if<T>(&c)) out.push_back(*p);
    }
    return out;
}

template <class T>
T only(const Commands& cmds) {
    auto v = all_of<T>(cmds);
    EXPECT_EQ(v.size(), 1u);
    return v.empty() ? T{} : v.front();
}

class CallFlowTest : public ::testing::Test {
  protected:
    CallFlowTest() {
        config.genesys_sip_hosts = {"127.0.0.2"};
        config.agent_ring_timeout = 20s;
    }

    CallFlow& flow() {
        if (!flow_) {
            flow_ = std::make_unique<CallFlow>(config, observer);
        }
        return *flow_;
    }

    Commands send(const Event& e) { return flow().handle(e, now += 1ms); }

    // Drives a call up to "agent ringing"; returns the agent channel id.
    std::string ring(const std::string& genesys, const std::string& dn, const std::string& cid,
                     const std::string& uuid = "UUID-1") {
        auto c1 = send(GenesysLegEntered{genesys, "PJSIP/genesys-1", dn, cid, uuid});
        auto create = only<CreateAgentLeg>(c1);
        send(AgentLegEntered{create.agent_channel_id, "PJSIP/" + dn + "-0001", genesys});
        send(ChannelRinging{create.agent_channel_id});
        return create.agent_channel_id;
    }

    NotifyReceived notify(NotifyKind kind, const std::string& cid, const std::string& dn = "1002",
                          const std::string& uuid = "UUID-1") {
        NotifyReceived n;
        n.kind = kind;
        n.event_name = kind == NotifyKind::talk ? "talk" : kind == NotifyKind::hold ? "hold" : "x";
        n.call_id = cid;
        n.dn = dn;
        n.call_uuid = uuid;
        n.cseq = 2;
        n.source = "hep";
        n.received_at = now;
        return n;
    }

    Config config;
    RecordingObserver observer;
    TimePoint now{};
    std::unique_ptr<CallFlow> flow_;
};

TEST_F(CallFlowTest, GenesysCallCreatesAgentLegInTheAppWithTimer) {
    auto cmds = send(GenesysLegEntered{"g1", "PJSIP/genesys-1", "1002", "cid-1", "UUID-1"});
    auto create = only<CreateAgentLeg>(cmds);
    EXPECT_EQ(create.endpoint, "PJSIP/1002");
    EXPECT_EQ(create.app_args, "talkgate-agent,g1");
    EXPECT_EQ(create.originator, "g1");
    EXPECT_EQ(create.variables.at("PJSIP_HEADER(add,X-Genesys-CallUUID)"), "UUID-1");
    EXPECT_EQ(create.variables.count("PJSIP_HEADER(add,Call-Info)"), 0u);
    auto timer = only<StartTimer>(cmds);
    EXPECT_EQ(timer.after, 20s);
    ASSERT_NE(flow().registry().all().size(), 0u);
    EXPECT_EQ(flow().registry().all().front()->state, CallState::offered);
}

TEST_F(CallFlowTest, EndpointTemplateIsApplied) {
    config.agent_endpoint_template = "PJSIP/agent-{dn}@webrtc";
    auto create = only<CreateAgentLeg>(send(GenesysLegEntered{"g1", "n", "1002", "c", ""}));
    EXPECT_EQ(create.endpoint, "PJSIP/agent-1002@webrtc");
    EXPECT_EQ(create.variables.count("PJSIP_HEADER(add,X-Genesys-CallUUID)"), 0u);
}

TEST_F(CallFlowTest, InvalidDnIsRejectedAndNotTracked) {
    auto cmds = send(GenesysLegEntered{"g1", "n", "10 02;evil", "c", ""});
    EXPECT_EQ(only<HangupChannel>(cmds).reason_code, cause::unallocated);
    EXPECT_EQ(flow().registry().size(), 0u);
}

TEST_F(CallFlowTest, AgentLegIsDialledWhenItEntersTheApp) {
    auto create = only<CreateAgentLeg>(send(GenesysLegEntered{"g1", "n", "1002", "c", ""}));
    auto cmds = send(AgentLegEntered{create.agent_channel_id, "PJSIP/1002-0001", "g1"});
    auto dial = only<DialAgent>(cmds);
    EXPECT_EQ(dial.agent_channel_id, create.agent_channel_id);
    EXPECT_EQ(dial.caller_channel_id, "g1");
    EXPECT_EQ(dial.timeout_s, 20);
}

TEST_F(CallFlowTest, AgentLegOfAVanishedCallIsHungUp) {
    auto cmds = send(AgentLegEntered{"a-x", "PJSIP/1002-9", "gone"});
    EXPECT_EQ(only<HangupChannel>(cmds).channel_id, "a-x");
}

TEST_F(CallFlowTest, AgentRingingRingsGenesysButDoesNotAnswerWithoutNotify) {
    auto create = only<CreateAgentLeg>(send(GenesysLegEntered{"g1", "n", "1002", "c", ""}));
    send(AgentLegEntered{create.agent_channel_id, "PJSIP/1002-0001", "g1"});
    auto cmds = send(ChannelRinging{create.agent_channel_id});
    EXPECT_EQ(only<RingGenesys>(cmds).channel_id, "g1");
    EXPECT_TRUE(all_of<SendAgentNotify>(cmds).empty());
    EXPECT_TRUE(all_of<BridgeApiAnswer>(cmds).empty());
}

TEST_F(CallFlowTest, NotifyTalkWhileRingingAsksAgentToAnswerByEveryPath) {
    ring("g1", "1002", "cid-1");
    auto cmds = send(notify(NotifyKind::talk, "cid-1"));
    auto n = only<SendAgentNotify>(cmds);
    EXPECT_EQ(n.event, "talk");
    EXPECT_EQ(n.agent_channel_name, "PJSIP/1002-0001");
    EXPECT_EQ(only<BridgeApiAnswer>(cmds).dn, "1002");
    auto b = only<BridgeApiNotify>(cmds);
    EXPECT_EQ(b.dn, "1002");
    EXPECT_EQ(b.call_id, "cid-1");
    EXPECT_EQ(b.call_uuid, "UUID-1");
    EXPECT_EQ(b.event, "talk");
    EXPECT_EQ(observer.answers, 1);
    EXPECT_EQ(flow().registry().all().front()->state, CallState::answer_requested);
    // A second talk (a new transaction) does not answer twice.
    EXPECT_TRUE(send(notify(NotifyKind::talk, "cid-1")).empty());
    EXPECT_EQ(observer.answers, 1);
}

TEST_F(CallFlowTest, NotifyTalkBeforeAgentRingsIsKeptAndAppliedAtRinging) {
    auto create = only<CreateAgentLeg>(send(GenesysLegEntered{"g1", "n", "1002", "cid-1", ""}));
    EXPECT_TRUE(send(notify(NotifyKind::talk, "cid-1")).empty());
    send(AgentLegEntered{create.agent_channel_id, "PJSIP/1002-0001", "g1"});
    auto cmds = send(ChannelRinging{create.agent_channel_id});
    EXPECT_EQ(only<RingGenesys>(cmds).channel_id, "g1");
    EXPECT_EQ(only<SendAgentNotify>(cmds).event, "talk");
    EXPECT_EQ(observer.answers, 1);
    EXPECT_EQ(observer.last_answer_latency, 3ms);  // fake clock: three events after the NOTIFY
}

TEST_F(CallFlowTest, AgentAnswerAnswersGenesysAndBridgesThenConnected) {
    auto agent = ring("g1", "1002", "cid-1");
    send(notify(NotifyKind::talk, "cid-1"));
    auto cmds = send(ChannelAnswered{agent});
    auto ab = only<AnswerAndBridge>(cmds);
    EXPECT_EQ(ab.genesys_channel_id, "g1");
    EXPECT_EQ(ab.agent_channel_id, agent);
    EXPECT_FALSE(ab.bridge_id.empty());
    EXPECT_EQ(flow().registry().all().front()->state, CallState::bridging);
    // While bridging, neither a hold nor an operator's answer has anything to act on.
    EXPECT_TRUE(send(notify(NotifyKind::hold, "cid-1")).empty());
    EXPECT_EQ(flow().answer_manually("1002", now).outcome, ManualAnswerOutcome::not_ringing);
    send(BridgeEstablished{"g1"});
    EXPECT_EQ(flow().registry().all().front()->state, CallState::connected);
    EXPECT_EQ(observer.answered, 1);
    // A duplicate Up changes nothing.
    EXPECT_TRUE(send(ChannelAnswered{agent}).empty());
}

TEST_F(CallFlowTest, HoldThenRetrieve) {
    auto agent = ring("g1", "1002", "cid-1");
    send(ChannelAnswered{agent});
    send(BridgeEstablished{"g1"});
    auto hold = send(notify(NotifyKind::hold, "cid-1"));
    EXPECT_EQ(only<SendAgentNotify>(hold).event, "hold");
    EXPECT_EQ(only<BridgeApiNotify>(hold).event, "hold");
    EXPECT_EQ(flow().registry().all().front()->state, CallState::held);
    EXPECT_TRUE(send(notify(NotifyKind::hold, "cid-1")).empty());
    auto retrieve = send(notify(NotifyKind::talk, "cid-1"));
    EXPECT_EQ(only<SendAgentNotify>(retrieve).event, "talk");
    EXPECT_EQ(only<BridgeApiNotify>(retrieve).event, "talk");
    EXPECT_TRUE(all_of<BridgeApiAnswer>(retrieve).empty());
    EXPECT_EQ(flow().registry().all().front()->state, CallState::connected);
}

TEST_F(CallFlowTest, HoldBeforeAnswerIsIgnored) {
    ring("g1", "1002", "cid-1");
    EXPECT_TRUE(send(notify(NotifyKind::hold, "cid-1")).empty());
}

TEST_F(CallFlowTest, GenesysHangupHangsUpAgentAndDestroysBridge) {
    auto agent = ring("g1", "1002", "cid-1");
    send(ChannelAnswered{agent});
    send(BridgeEstablished{"g1"});
    auto cmds = send(ChannelGone{"g1", 16});
    EXPECT_EQ(only<HangupChannel>(cmds).channel_id, agent);
    EXPECT_EQ(all_of<DestroyBridge>(cmds).size(), 1u);
    EXPECT_EQ(flow().registry().size(), 0u);
    EXPECT_EQ(observer.ended, std::vector<std::string>{"genesys_hangup"});
    EXPECT_TRUE(send(ChannelGone{agent, 16}).empty());  // the other leg's events find nothing
}

TEST_F(CallFlowTest, AgentHangupAfterAnswerHangsUpGenesys) {
    auto agent = ring("g1", "1002", "cid-1");
    send(ChannelAnswered{agent});
    send(BridgeEstablished{"g1"});
    auto cmds = send(ChannelGone{agent, 16});
    auto h = only<HangupChannel>(cmds);
    EXPECT_EQ(h.channel_id, "g1");
    EXPECT_EQ(h.reason_code, cause::normal_clearing);
    EXPECT_EQ(observer.ended, std::vector<std::string>{"agent_hangup"});
}

TEST_F(CallFlowTest, AgentBusyRejectsGenesysWith486Cause) {
    auto agent = ring("g1", "1002", "cid-1");
    auto h = only<HangupChannel>(send(ChannelGone{agent, cause::user_busy}));
    EXPECT_EQ(h.channel_id, "g1");
    EXPECT_EQ(h.reason_code, cause::user_busy);
    EXPECT_EQ(observer.ended, std::vector<std::string>{"busy"});
}

TEST_F(CallFlowTest, CauseLearntBeforeTheLegIsGoneDecidesTheRejection) {
    auto agent = ring("g1", "1002", "cid-1");
    send(HangupCause{agent, cause::user_busy});
    auto h = only<HangupChannel>(send(ChannelGone{agent, 0}));  // StasisEnd carries no cause
    EXPECT_EQ(h.reason_code, cause::user_busy);
}

TEST_F(CallFlowTest, AgentUnreachableRejectsGenesysWith480Cause) {
    auto create = only<CreateAgentLeg>(send(GenesysLegEntered{"g1", "n", "1002", "c", ""}));
    send(AgentLegEntered{create.agent_channel_id, "PJSIP/1002-0001", "g1"});
    auto h = only<HangupChannel>(send(ChannelGone{create.agent_channel_id, 3}));
    EXPECT_EQ(h.reason_code, cause::subscriber_absent);
}

TEST_F(CallFlowTest, CreateFailureRejectsGenesys) {
    send(GenesysLegEntered{"g1", "n", "1002", "c", ""});
    auto cmds = send(CommandFailed{"g1", CommandKind::create_agent, 400, "Endpoint not found"});
    auto hangups = all_of<HangupChannel>(cmds);
    ASSERT_EQ(hangups.size(), 2u);
    EXPECT_EQ(hangups[1].channel_id, "g1");
    EXPECT_EQ(hangups[1].reason_code, cause::subscriber_absent);
    EXPECT_EQ(flow().registry().size(), 0u);
}

TEST_F(CallFlowTest, NoAnswerTimerRejectsGenesysWith408Cause) {
    auto agent = ring("g1", "1002", "cid-1");
    const auto* call = flow().registry().all().front();
    auto cmds = send(TimerFired{"g1", TimerKind::agent_no_answer, call->ring_timer});
    auto hangups = all_of<HangupChannel>(cmds);
    ASSERT_EQ(hangups.size(), 2u);
    EXPECT_EQ(hangups[0].channel_id, agent);
    EXPECT_EQ(hangups[1].channel_id, "g1");
    EXPECT_EQ(hangups[1].reason_code, cause::no_user_response);
    EXPECT_EQ(observer.ended, std::vector<std::string>{"no_answer"});
}

TEST_F(CallFlowTest, StaleTimerAfterAnswerIsIgnored) {
    auto agent = ring("g1", "1002", "cid-1");
    auto timer = flow().registry().all().front()->ring_timer;
    send(ChannelAnswered{agent});
    EXPECT_TRUE(send(TimerFired{"g1", TimerKind::agent_no_answer, timer}).empty());
}

TEST_F(CallFlowTest, NotifyForUnknownCallIsCountedAndIgnored) {
    ring("g1", "1002", "cid-1");
    EXPECT_TRUE(send(notify(NotifyKind::talk, "other-cid", "1003", "U9")).empty());
    EXPECT_EQ(observer.received, 1);
    EXPECT_EQ(observer.unmatched, 1);
}

TEST_F(CallFlowTest, TwoCallsOnOneDnAreMatchedByCallIdThenByCallUuid) {
    auto a1 = ring("g1", "1002", "cid-1", "U1");
    auto a2 = ring("g2", "1002", "cid-2", "U2");
    auto c = send(notify(NotifyKind::talk, "cid-2", "1002", "U2"));
    EXPECT_EQ(only<SendAgentNotify>(c).call_key, "g2");
    // No Call-ID (e.g. an AMI source that lacks it): DN + CallUUID.
    c = send(notify(NotifyKind::talk, "", "1002", "U1"));
    EXPECT_EQ(only<SendAgentNotify>(c).call_key, "g1");
    // Neither key matches: two calls on the DN, so no guessing.
    EXPECT_TRUE(send(notify(NotifyKind::talk, "", "1002", "")).empty());
    EXPECT_EQ(observer.unmatched, 1);
    (void)a1;
    (void)a2;
}

TEST_F(CallFlowTest, ImmediatePolicyAnswersAtRingingAndAsksForAutoAnswerHeader) {
    config.answer_policy_per_dn["1002"] = AnswerPolicy::immediate;
    auto create = only<CreateAgentLeg>(send(GenesysLegEntered{"g1", "n", "1002", "c", ""}));
    EXPECT_EQ(create.variables.at("PJSIP_HEADER(add,Call-Info)"),
              "<sip:talkgate.invalid>;answer-after=0");
    send(AgentLegEntered{create.agent_channel_id, "PJSIP/1002-0001", "g1"});
    auto cmds = send(ChannelRinging{create.agent_channel_id});
    EXPECT_TRUE(all_of<SendAgentNotify>(cmds).empty());  // Call-Info did it; no racing NOTIFY
    EXPECT_EQ(only<BridgeApiAnswer>(cmds).dn, "1002");
    EXPECT_EQ(only<BridgeApiNotify>(cmds).event, "talk");
}

TEST_F(CallFlowTest, OffPolicyNeverAnswersButOperatorCan) {
    config.answer_policy = AnswerPolicy::off;
    ring("g1", "1002", "cid-1");
    EXPECT_TRUE(send(notify(NotifyKind::talk, "cid-1")).empty());
    auto manual = flow().answer_manually("1002", now);
    EXPECT_EQ(manual.outcome, ManualAnswerOutcome::requested);
    EXPECT_EQ(only<SendAgentNotify>(manual.commands).event, "talk");
}

TEST_F(CallFlowTest, ManualAnswerOutcomes) {
    EXPECT_EQ(flow().answer_manually("1002", now).outcome, ManualAnswerOutcome::no_such_call);
    send(GenesysLegEntered{"g1", "n", "1002", "c", ""});
    EXPECT_EQ(flow().answer_manually("1002", now).outcome, ManualAnswerOutcome::not_ringing);
}

ChannelSnapshot snap(const std::string& id, const std::string& name, const std::string& state,
                     const std::string& context = "", const std::string& exten = "",
                     const std::string& call_id = "", std::map<std::string, std::string> vars = {},
                     std::optional<std::chrono::milliseconds> age = std::nullopt) {
    ChannelSnapshot c;
    c.id = id;
    c.name = name;
    c.state = state;
    c.context = context;
    c.exten = exten;
    c.call_id = call_id;
    c.in_app = true;
    c.vars = std::move(vars);
    c.age = age;
    return c;
}

// A Genesys leg as the dialplan leaves it (variables), for DN 1002.
ChannelSnapshot genesys_leg(const std::string& id, const std::string& state,
                            std::map<std::string, std::string> more = {},
                            std::optional<std::chrono::milliseconds> age = std::nullopt) {
    std::map<std::string, std::string> vars = {{"GENESYS_CALL_ID", "cid-" + id},
                                               {"GENESYS_CALL_UUID", "UUID-" + id}};
    for (auto& [k, v] : more) vars[k] = v;
    return snap(id, "PJSIP/genesys-" + id, state, "from-genesys", "1002", "cid-" + id, vars, age);
}

ChannelSnapshot agent_leg(const std::string& key, const std::string& state,
                          const std::string& policy = "notify") {
    return snap(key + "-agent", "PJSIP/1002-" + key, state, "", "", "",
                {{"TALKGATE_CALL_KEY", key}, {"TALKGATE_POLICY", policy}});
}

TEST_F(CallFlowTest, AgentLegAndBridgeAreNamedAfterTheCallAndCarryItsIdentity) {
    auto create = only<CreateAgentLeg>(send(GenesysLegEntered{"g1", "n", "1002", "c", "U"}));
    EXPECT_EQ(create.agent_channel_id, "g1-agent");
    EXPECT_EQ(create.variables.at("TALKGATE_CALL_KEY"), "g1");
    EXPECT_EQ(create.variables.at("TALKGATE_POLICY"), "notify");
    EXPECT_EQ(flow().registry().all().front()->bridge, "g1-bridge");
}

TEST_F(CallFlowTest, ResyncClosesCallsWhoseChannelsVanishedAndAdoptsWaitingGenesysLegs) {
    auto agent = ring("g1", "1002", "cid-1");
    ring("g2", "1003", "cid-2");
    Resync r;
    r.channels.push_back(snap("g1", "PJSIP/genesys-1", "Ringing", "from-genesys", "1002", "cid-1"));
    r.channels.push_back(snap(agent, "PJSIP/1002-0001", "Ringing"));
    // g2 and its agent are gone; g9 waited in the app while we were away; x1 is an orphan.
    r.channels.push_back(snap("g9", "PJSIP/genesys-9", "Ring", "from-genesys", "1004", "cid-9"));
    r.channels.push_back(snap("x1", "PJSIP/1005-0009", "Up", "from-agents"));
    auto cmds = send(r);
    EXPECT_EQ(flow().registry().size(), 2u);  // g1 kept, g9 adopted
    EXPECT_EQ(only<CreateAgentLeg>(cmds).endpoint, "PJSIP/1004");
    auto hangups = all_of<HangupChannel>(cmds);
    ASSERT_EQ(hangups.size(), 1u);
    EXPECT_EQ(hangups[0].channel_id, "x1");
    EXPECT_EQ(observer.repairs, (std::vector<std::string>{"closed", "adopted", "orphan_hungup"}));
}

TEST_F(CallFlowTest, ResyncTellsGenesysLegsByTheConfiguredContext) {
    config.genesys_context = "from-sbc";
    Resync r;
    // Neither carries the dialplan's variables: only the context says which is a Genesys leg.
    r.channels.push_back(snap("g9", "PJSIP/sbc-9", "Ring", "from-sbc", "1004", "cid-9"));
    r.channels.push_back(snap("x1", "PJSIP/genesys-1", "Ring", "from-genesys", "1005", "cid-1"));
    auto cmds = send(r);
    EXPECT_EQ(only<CreateAgentLeg>(cmds).endpoint, "PJSIP/1004");
    EXPECT_EQ(only<HangupChannel>(cmds).channel_id, "x1");
    EXPECT_EQ(observer.repairs, (std::vector<std::string>{"adopted", "orphan_hungup"}));
}

TEST_F(CallFlowTest, ResyncKeepsCallsThatCameAfterAsteriskListedItsChannels) {
    auto agent = ring("g1", "1002", "cid-1");
    Resync r;
    r.requested_at = now;  // the lists are requested now; calls below come while they travel
    r.channels.push_back(snap("g1", "PJSIP/genesys-1", "Ringing", "from-genesys", "1002", "cid-1"));
    r.channels.push_back(snap(agent, "PJSIP/1002-0001", "Ringing"));
    send(GenesysLegEntered{"g2", "PJSIP/genesys-2", "1003", "cid-2", ""});  // in no list
    ring("g3", "1004", "cid-3");  // its Genesys leg is listed, its agent leg came later
    r.channels.push_back(snap("g3", "PJSIP/genesys-3", "Ring", "from-genesys", "1004", "cid-3"));
    auto cmds = send(r);
    EXPECT_EQ(flow().registry().size(), 3u);
    EXPECT_TRUE(all_of<HangupChannel>(cmds).empty());
    EXPECT_TRUE(observer.repairs.empty());
    // Without requested_at the same lists close both newer calls (g3 is then adopted anew).
    r.requested_at.reset();
    send(r);
    EXPECT_EQ(std::count(observer.repairs.begin(), observer.repairs.end(), "closed"), 2);
}

TEST_F(CallFlowTest, ResyncAdoptsABridgedPairAsConnectedWithItsFullIdentity) {
    Resync r;
    r.channels = {genesys_leg("g1", "Up"), agent_leg("g1", "Up", "off")};
    r.bridges = {{"g1-bridge", "talkgate", {"g1", "g1-agent"}}};
    auto cmds = send(r);
    EXPECT_TRUE(all_of<HangupChannel>(cmds).empty());
    EXPECT_TRUE(all_of<DestroyBridge>(cmds).empty());
    EXPECT_TRUE(all_of<StartTimer>(cmds).empty());
    ASSERT_EQ(flow().registry().size(), 1u);
    const Call& c = *flow().registry().all().front();
    EXPECT_EQ(c.state, CallState::connected);
    EXPECT_EQ(c.key, "g1");
    EXPECT_EQ(c.dn, "1002");
    EXPECT_EQ(c.call_id, "cid-g1");
    EXPECT_EQ(c.call_uuid, "UUID-g1");
    EXPECT_EQ(c.agent_channel, "g1-agent");
    EXPECT_EQ(c.agent_channel_name, "PJSIP/1002-g1");
    EXPECT_EQ(c.bridge, "g1-bridge");
    EXPECT_EQ(c.policy, AnswerPolicy::off);
    EXPECT_EQ(observer.repairs, (std::vector<std::string>{"adopted_connected"}));

    // Hold (matched by Call-ID), then hangup from Genesys, exactly as on a new call.
    auto hold = send(notify(NotifyKind::hold, "cid-g1", "1002", "UUID-g1"));
    EXPECT_EQ(only<SendAgentNotify>(hold).agent_channel_name, "PJSIP/1002-g1");
    auto var = only<SetChannelVar>(hold);
    EXPECT_EQ(var.channel_id, "g1");
    EXPECT_EQ(var.name, "TALKGATE_HELD");
    EXPECT_EQ(var.value, "1");
    auto bye = send(ChannelGone{"g1", 16});
    EXPECT_EQ(only<HangupChannel>(bye).channel_id, "g1-agent");
    EXPECT_EQ(only<DestroyBridge>(bye).bridge_id, "g1-bridge");
    EXPECT_EQ(flow().registry().size(), 0u);
}

TEST_F(CallFlowTest, ResyncAdoptsAHeldPairAndNotifyTalkRetrieves) {
    Resync r;
    r.channels = {genesys_leg("g1", "Up", {{"TALKGATE_HELD", "1"}}), agent_leg("g1", "Up")};
    r.bridges = {{"g1-bridge", "talkgate", {"g1-agent", "g1"}}};
    send(r);
    ASSERT_EQ(flow().registry().size(), 1u);
    EXPECT_EQ(flow().registry().all().front()->state, CallState::held);
    auto talk = send(notify(NotifyKind::talk, "cid-g1"));
    EXPECT_EQ(only<SendAgentNotify>(talk).event, "talk");
    EXPECT_EQ(only<BridgeApiNotify>(talk).event, "talk");
    EXPECT_EQ(only<SetChannelVar>(talk).value, "0");
    EXPECT_EQ(flow().registry().all().front()->state, CallState::connected);
    // The agent hangs up: Genesys is hung up too.
    auto bye = send(ChannelGone{"g1-agent", 16});
    EXPECT_EQ(only<HangupChannel>(bye).channel_id, "g1");
    EXPECT_EQ(observer.ended, (std::vector<std::string>{"agent_hangup"}));
}

TEST_F(CallFlowTest, ResyncAdoptsARingingPairWithTheRestOfItsRingTime) {
    Resync r;
    r.channels = {genesys_leg("g1", "Ringing", {}, 5000ms), agent_leg("g1", "Ringing")};
    auto cmds = send(r);
    ASSERT_EQ(flow().registry().size(), 1u);
    EXPECT_EQ(flow().registry().all().front()->state, CallState::ringing);
    EXPECT_TRUE(all_of<RingGenesys>(cmds).empty());  // Genesys already rings
    auto timer = only<StartTimer>(cmds);
    EXPECT_EQ(timer.after, 15000ms);  // 20 s ring timeout, leg 5 s old
    EXPECT_EQ(observer.repairs, (std::vector<std::string>{"adopted_ringing"}));

    // Genesys's retransmitted NOTIFY talk (HEP) answers it.
    auto talk = send(notify(NotifyKind::talk, "cid-g1"));
    EXPECT_EQ(only<SendAgentNotify>(talk).agent_channel_name, "PJSIP/1002-g1");
    EXPECT_EQ(all_of<BridgeApiAnswer>(talk).size(), 1u);
    auto up = send(ChannelAnswered{"g1-agent"});
    auto bridge = only<AnswerAndBridge>(up);
    EXPECT_EQ(bridge.bridge_id, "g1-bridge");
    EXPECT_EQ(bridge.genesys_channel_id, "g1");
    send(BridgeEstablished{"g1"});
    EXPECT_EQ(flow().registry().all().front()->state, CallState::connected);
}

TEST_F(CallFlowTest, AdoptedRingingCallTimesOutOnItsNewTimer) {
    Resync r;
    r.channels = {genesys_leg("g1", "Ringing", {}, 25000ms), agent_leg("g1", "Ringing")};
    auto timer = only<StartTimer>(send(r));
    EXPECT_EQ(timer.after, 0ms);  // past its ring time already
    auto cmds = send(TimerFired{"g1", TimerKind::agent_no_answer, timer.id});
    auto hangups = all_of<HangupChannel>(cmds);
    ASSERT_EQ(hangups.size(), 2u);
    EXPECT_EQ(hangups[0].channel_id, "g1-agent");
    EXPECT_EQ(hangups[1].reason_code, cause::no_user_response);
    EXPECT_EQ(observer.ended, (std::vector<std::string>{"no_answer"}));
}

TEST_F(CallFlowTest, ResyncActsOnANotifyTalkTheModuleRecordedWhileAway) {
    Resync r;
    r.channels = {genesys_leg("g1", "Ringing",
                              {{"GENESYS_NOTIFY_EVENT", "talk"},
                               {"GENESYS_NOTIFY_CSEQ", "2"},
                               {"GENESYS_CALL_UUID", "UUID-NEW"}}),
                  agent_leg("g1", "Ringing")};
    auto cmds = send(r);
    EXPECT_EQ(only<SendAgentNotify>(cmds).event, "talk");
    EXPECT_EQ(only<BridgeApiAnswer>(cmds).call_uuid, "UUID-NEW");
    EXPECT_EQ(flow().registry().all().front()->state, CallState::answer_requested);
    EXPECT_EQ(observer.received, 0);  // a replay, not a new NOTIFY
}

TEST_F(CallFlowTest, ResyncActsOnARecordedHoldOnceAndNotOnAHoldAlreadyDone) {
    Resync r;
    r.channels = {genesys_leg("g1", "Up", {{"GENESYS_NOTIFY_EVENT", "hold"}}),
                  agent_leg("g1", "Up")};
    r.bridges = {{"g1-bridge", "talkgate", {"g1", "g1-agent"}}};
    auto cmds = send(r);
    EXPECT_EQ(only<SendAgentNotify>(cmds).event, "hold");
    EXPECT_EQ(only<SetChannelVar>(cmds).value, "1");
    EXPECT_EQ(flow().registry().all().front()->state, CallState::held);
    // The same snapshot again (a second reconnect, talkgate now knows the call): nothing.
    r.channels[0].vars["TALKGATE_HELD"] = "1";
    EXPECT_TRUE(send(r).empty());
}

TEST_F(CallFlowTest, ResyncAnswersAndBridgesAnAgentThatAnsweredWhileAway) {
    Resync r;
    r.channels = {genesys_leg("g1", "Ringing"), agent_leg("g1", "Up")};
    auto cmds = send(r);
    auto bridge = only<AnswerAndBridge>(cmds);
    EXPECT_EQ(bridge.agent_channel_id, "g1-agent");
    EXPECT_EQ(bridge.bridge_id, "g1-bridge");
    send(BridgeEstablished{"g1"});
    EXPECT_EQ(flow().registry().all().front()->state, CallState::connected);
    EXPECT_EQ(observer.repairs, (std::vector<std::string>{"adopted_answered"}));
}

TEST_F(CallFlowTest, ResyncAdoptsADialledAgentLegAndWaitsForItsRinging) {
    Resync r;
    r.channels = {genesys_leg("g1", "Ring"), agent_leg("g1", "Down")};
    auto cmds = send(r);
    EXPECT_EQ(flow().registry().all().front()->state, CallState::dialing);
    EXPECT_EQ(only<StartTimer>(cmds).after, 20000ms);  // creation time unknown: the whole time
    EXPECT_TRUE(all_of<DialAgent>(cmds).empty());
    auto ringing = send(ChannelRinging{"g1-agent"});
    EXPECT_EQ(only<RingGenesys>(ringing).channel_id, "g1");
}

TEST_F(CallFlowTest, ResyncHangsUpOnlyLegsWhosePartnerIsGone) {
    Resync r;
    // g1 was connected and its agent left; g2's agent leg lost its Genesys leg; g3 is whole.
    r.channels = {genesys_leg("g1", "Up"), agent_leg("g2", "Up"), genesys_leg("g3", "Up"),
                  agent_leg("g3", "Up")};
    r.bridges = {{"g1-bridge", "talkgate", {"g1"}},
                 {"g2-bridge", "talkgate", {"g2-agent"}},
                 {"g3-bridge", "talkgate", {"g3", "g3-agent"}},
                 {"other", "someone-else", {}}};
    auto cmds = send(r);
    std::vector<std::string> hung;
    for (const auto& h : all_of<HangupChannel>(cmds)) hung.push_back(h.channel_id);
    EXPECT_EQ(hung, (std::vector<std::string>{"g1", "g2-agent"}));
    std::vector<std::string> destroyed;
    for (const auto& d : all_of<DestroyBridge>(cmds)) destroyed.push_back(d.bridge_id);
    EXPECT_EQ(destroyed, (std::vector<std::string>{"g1-bridge", "g2-bridge"}));
    ASSERT_EQ(flow().registry().size(), 1u);
    EXPECT_EQ(flow().registry().all().front()->key, "g3");
    EXPECT_EQ(observer.repairs, (std::vector<std::string>{"genesys_partner_gone",
                                                          "adopted_connected", "agent_partner_gone",
                                                          "bridge_destroyed", "bridge_destroyed"}));
}

TEST_F(CallFlowTest, ResyncAdoptsAConnectedCallOfAnOlderTalkgateByItsBridgePartner) {
    Resync r;
    r.channels = {genesys_leg("g1", "Up"),
                  snap("talkgate-agent-7-1", "PJSIP/1002-00000001", "Up", "", "", "")};
    r.bridges = {{"talkgate-bridge-7-2", "talkgate", {"g1", "talkgate-agent-7-1"}}};
    auto cmds = send(r);
    EXPECT_TRUE(all_of<HangupChannel>(cmds).empty());
    EXPECT_TRUE(all_of<DestroyBridge>(cmds).empty());
    ASSERT_EQ(flow().registry().size(), 1u);
    const Call& c = *flow().registry().all().front();
    EXPECT_EQ(c.state, CallState::connected);
    EXPECT_EQ(c.agent_channel, "talkgate-agent-7-1");
    EXPECT_EQ(c.bridge, "talkgate-bridge-7-2");
    auto bye = send(ChannelGone{"g1", 16});
    EXPECT_EQ(only<HangupChannel>(bye).channel_id, "talkgate-agent-7-1");
    EXPECT_EQ(only<DestroyBridge>(bye).bridge_id, "talkgate-bridge-7-2");
}

TEST_F(CallFlowTest, ResyncCatchesAKnownCallUpWithWhatItsAgentDidMeanwhile) {
    auto agent = ring("g1", "1002", "cid-1");
    Resync r;
    r.channels = {snap("g1", "PJSIP/genesys-1", "Ringing", "from-genesys", "1002", "cid-1"),
                  snap(agent, "PJSIP/1002-0001", "Up")};
    auto cmds = send(r);
    EXPECT_EQ(only<AnswerAndBridge>(cmds).agent_channel_id, agent);
    EXPECT_EQ(observer.repairs, (std::vector<std::string>{"caught_up"}));
    // And once more: nothing left to do.
    observer.repairs.clear();
    EXPECT_TRUE(send(r).empty());
}

TEST_F(CallFlowTest, ResyncDialsAKnownCallsAgentLegWhoseStasisStartWasMissed) {
    send(GenesysLegEntered{"g1", "PJSIP/genesys-1", "1002", "cid-1", ""});
    Resync r;
    r.channels = {snap("g1", "PJSIP/genesys-1", "Ring", "from-genesys", "1002", "cid-1"),
                  snap("g1-agent", "PJSIP/1002-0001", "Down")};
    auto cmds = send(r);
    EXPECT_EQ(only<DialAgent>(cmds).agent_channel_id, "g1-agent");
}

}  // namespace
}  // namespace talkgate::flow

namespace talkgate::flow {
namespace {

// Issue 11 regression: the INVITE's CallUUID (Stasis arg) with bytes that are not UTF-8 is
// dropped and counted; the call goes on and the NOTIFY talk matched by Call-ID answers it.
TEST_F(CallFlowTest, NonUtf8CallUuidIsDroppedAndTheCallIsStillAnswered) {
    const std::string bad("\xe9\xff", 2);
    auto c1 = send(GenesysLegEntered{"g1", "PJSIP/genesys-1", "1002", "cid-1", bad});
    auto create = only<CreateAgentLeg>(c1);
    EXPECT_EQ(create.variables.count("PJSIP_HEADER(add,X-Genesys-CallUUID)"), 0u);
    EXPECT_EQ(observer.dropped, std::vector<std::string>{"Stasis args"});
    send(AgentLegEntered{create.agent_channel_id, "PJSIP/1002-0001", "g1"});
    send(ChannelRinging{create.agent_channel_id});
    auto cmds = send(notify(NotifyKind::talk, "cid-1", "1002", ""));
    EXPECT_EQ(only<BridgeApiAnswer>(cmds).call_uuid, "");
    EXPECT_EQ(flow().registry().all().front()->state, CallState::answer_requested);
    EXPECT_EQ(flow().registry().all().front()->call_uuid, "");
}

TEST_F(CallFlowTest, UserEventNotifyFromTheGenesysLegAnswers) {
    ring("g1", "1002", "cid-1");
    auto n = notify(NotifyKind::talk, "cid-1");
    n.source = "ami";
    n.from_channel = true;
    n.channel = "g1";
    EXPECT_EQ(all_of<BridgeApiAnswer>(send(n)).size(), 1u);
    EXPECT_TRUE(observer.rejected.empty());
}

TEST_F(CallFlowTest, UserEventNotifyFromAnotherChannelIsRejectedAndCounted) {
    const auto agent = ring("g1", "1002", "cid-1");
    for (const std::string& channel : {agent, std::string("someone-else"), std::string()}) {
        auto n = notify(NotifyKind::talk, "cid-1");
        n.source = "ari";
        n.from_channel = true;
        n.channel = channel;
        EXPECT_TRUE(send(n).empty()) << channel;
    }
    EXPECT_EQ(observer.rejected,
              (std::vector<std::string>{"wrong_channel", "wrong_channel", "wrong_channel"}));
    EXPECT_EQ(flow().registry().all().front()->state, CallState::ringing);
}

std::vector<std::string> step_names(const Call& c) {
    std::vector<std::string> out;
    for (const auto& s : c.trace.steps()) out.push_back(to_string(s.kind));
    return out;
}

TEST_F(CallFlowTest, AnAnsweredCallKeepsItsLadderInOrderWithMonotonicTimes) {
    const std::string agent = ring("g1", "1002", "cid-1");
    send(notify(NotifyKind::talk, "cid-1"));
    send(ChannelAnswered{agent});
    send(BridgeEstablished{"g1"});
    send(notify(NotifyKind::hold, "cid-1"));
    send(notify(NotifyKind::talk, "cid-1"));
    const Call* live = flow().registry().find("g1");
    ASSERT_NE(live, nullptr);
    EXPECT_EQ(live->trace.steps().size(), 13u);
    send(ChannelGone{"g1", 16});

    const Call* c = flow().registry().live_or_recent("g1");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->outcome, "genesys_hangup");
    EXPECT_EQ(step_names(*c),
              (std::vector<std::string>{"stasis_entered", "agent_leg_created", "agent_dialled",
                                        "agent_ringing", "genesys_rung", "notify",
                                        "answer_requested", "agent_answered", "bridged", "notify",
                                        "hold", "notify", "retrieve", "hangup", "ended"}));
    const auto& steps = c->trace.steps();
    for (std::size_t i = 1; i < steps.size(); ++i) EXPECT_LE(steps[i - 1].at, steps[i].at) << i;
    EXPECT_EQ(steps[5].event, "talk");
    EXPECT_EQ(steps[5].source, "hep");
    EXPECT_FALSE(steps[5].duplicate);
    EXPECT_EQ(steps[6].outcome, "notify_talk");
    EXPECT_EQ(steps[13].source, "genesys");
    EXPECT_EQ(steps[13].cause, 16);
    EXPECT_EQ(steps[14].outcome, "genesys_hangup");
}

TEST_F(CallFlowTest, DuplicatesAndAnswerActionsAreTracedOnTheirCallEvenAfterItEnded) {
    ring("g1", "1002", "cid-1");
    send(notify(NotifyKind::talk, "cid-1"));
    auto dup = notify(NotifyKind::talk, "cid-1");
    dup.source = "ami";
    flow().note_duplicate(dup, now);
    flow().note_duplicate(notify(NotifyKind::talk, "cid-unknown", "1009"), now);  // no call
    TraceStep action;
    action.at = now;
    action.kind = TraceKind::answer_action;
    action.source = "pjsip_notify";
    action.outcome = "ok";
    action.latency = 3ms;
    flow().record("g1", action);
    send(ChannelGone{"g1", 16});
    action.source = "bridge_answer";
    flow().record("g1", action);  // a late outcome lands on the ended call
    flow().record("nobody", action);

    const Call* c = flow().registry().live_or_recent("g1");
    ASSERT_NE(c, nullptr);
    const auto& steps = c->trace.steps();
    ASSERT_EQ(steps.size(), 12u);
    EXPECT_EQ(steps[7].kind, TraceKind::notify);
    EXPECT_TRUE(steps[7].duplicate);
    EXPECT_EQ(steps[7].source, "ami");
    EXPECT_EQ(steps[8].source, "pjsip_notify");
    EXPECT_EQ(steps[8].latency, std::chrono::nanoseconds(3ms));
    EXPECT_EQ(steps[11].source, "bridge_answer");
}

TEST_F(CallFlowTest, TraceAndRecentCallsAreBoundedBySettings) {
    config.call_trace_steps = 4;
    config.recent_calls = 2;
    ring("g1", "1002", "cid-1");
    for (int i = 0; i < 10; ++i) flow().note_duplicate(notify(NotifyKind::talk, "cid-1"), now);
    send(ChannelGone{"g1", 16});
    const Call* c = flow().registry().live_or_recent("g1");
    ASSERT_NE(c, nullptr);
    // The first four steps, then the hangup and the end: the last word is always kept.
    EXPECT_EQ(step_names(*c),
              (std::vector<std::string>{"stasis_entered", "agent_leg_created", "agent_dialled",
                                        "agent_ringing", "hangup", "ended"}));
    EXPECT_EQ(c->trace.dropped(), 11u);
    ring("g2", "1003", "cid-2");
    send(ChannelGone{"g2", 16});
    ring("g3", "1004", "cid-3");
    send(ChannelGone{"g3", 16});
    EXPECT_EQ(flow().registry().recent().size(), 2u);
    EXPECT_EQ(flow().registry().live_or_recent("g1"), nullptr);
    EXPECT_NE(flow().registry().live_or_recent("g3"), nullptr);
}

TEST_F(CallFlowTest, NoTraceAndNoRecentCallsWhenSetToZero) {
    config.call_trace_steps = 0;
    config.recent_calls = 0;
    ring("g1", "1002", "cid-1");
    EXPECT_TRUE(flow().registry().find("g1")->trace.steps().empty());
    send(ChannelGone{"g1", 16});
    EXPECT_TRUE(flow().registry().recent().empty());
}

TEST_F(CallFlowTest, BusyAgentAndRingTimeoutAreTracedWithSideAndCause) {
    const std::string agent = ring("g1", "1002", "cid-1");
    send(ChannelGone{agent, cause::user_busy});
    const Call* busy = flow().registry().live_or_recent("g1");
    ASSERT_NE(busy, nullptr);
    const auto& b = busy->trace.steps();
    ASSERT_GE(b.size(), 2u);
    EXPECT_EQ(b[b.size() - 2].source, "agent");
    EXPECT_EQ(b[b.size() - 2].cause, cause::user_busy);
    EXPECT_EQ(b.back().outcome, "busy");

    ring("g2", "1003", "cid-2");
    send(TimerFired{"g2", TimerKind::agent_no_answer, flow().registry().find("g2")->ring_timer});
    const Call* timed_out = flow().registry().live_or_recent("g2");
    ASSERT_NE(timed_out, nullptr);
    auto names = step_names(*timed_out);
    ASSERT_GE(names.size(), 2u);
    EXPECT_EQ(names[names.size() - 2], "ring_timeout");
    EXPECT_EQ(timed_out->trace.steps().back().outcome, "no_answer");
}

TEST_F(CallFlowTest, AnAdoptedCallsTraceStartsAtAdopted) {
    Resync r;
    r.channels = {genesys_leg("g1", "Up"), agent_leg("g1", "Up"), genesys_leg("g2", "Ring")};
    r.bridges = {{"g1-bridge", "talkgate", {"g1", "g1-agent"}}};
    send(r);
    const Call* connected = flow().registry().find("g1");
    ASSERT_NE(connected, nullptr);
    ASSERT_FALSE(connected->trace.steps().empty());
    EXPECT_EQ(connected->trace.steps().front().kind, TraceKind::adopted);
    EXPECT_EQ(connected->trace.steps().front().outcome, "adopted_connected");
    const Call* adopted = flow().registry().find("g2");
    ASSERT_NE(adopted, nullptr);
    EXPECT_EQ(step_names(*adopted),
              (std::vector<std::string>{"adopted", "stasis_entered", "agent_leg_created"}));
}

}  // namespace
}  // namespace talkgate::flow
