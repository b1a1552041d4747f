// The controller end to end against the real Asterisk lab: sipp plays Genesys (127.0.0.2) and
// the agents (127.0.0.3), a loopback fake plays the agent desktop's bridge API.
#include "controller_harness.hpp"
#include "tcp_relay.hpp"

#include <algorithm>
#include <set>

namespace talkgate::test {
namespace {

TEST_F(ControllerLabTest, NotifyTalkAnswersTheAgentBridgesBothLegsAndByeTearsDown) {
    start();
    LabCall call(lab_, agent("1002", "agent_answer_on_notify.xml"),
                 genesys("1002", "genesys_notify_talk.xml", "UUID-ANSWER-1", 3000));

    ASSERT_TRUE(bridge_.wait_for("/genesys-call-notify", 1, 10s)) << call.output();
    ASSERT_TRUE(bridge_.wait_for("/answer/1002", 1, 5s));
    for (const auto& r : bridge_.requests()) {
        EXPECT_EQ(r.method, "POST");
        if (r.path == "/genesys-call-notify") {
            EXPECT_EQ(r.body["dn"], "1002");
            EXPECT_EQ(r.body["call_uuid"], "UUID-ANSWER-1");
            EXPECT_EQ(r.body["event"], "talk");
            EXPECT_FALSE(r.body["call_id"].get<std::string>().empty());
        }
    }
    EXPECT_TRUE(wait_until([this] { return largest_bridge() == 2; }, 5s))
        << "both legs were never in one bridge";
    // Genesys got 200 OK and its BYE was answered; the agent got NOTIFY talk, answered, got
    // the BYE.
    EXPECT_EQ(call.wait_success(), "");
    EXPECT_EQ(answers(metrics::AnswerPath::pjsip_notify, metrics::ActionOutcome::ok), 1u);
    EXPECT_EQ(answers(metrics::AnswerPath::bridge_answer, metrics::ActionOutcome::ok), 1u);
    EXPECT_EQ(metrics_.notify_to_genesys_answered_seconds.labels({}).count(), 1u);
    expect_nothing_left();
}

// Every ARI request is a round trip on the call's path and a task in Asterisk's HTTP server:
// an answered call costs exactly these, so the count cannot grow unnoticed.
TEST_F(ControllerLabTest, AnAnsweredCallCostsEightAriRequests) {
    TcpRelay ari("127.0.0.1", lab_.port("LAB_HTTP_PORT"));
    config_.ari_url = "http://127.0.0.1:" + std::to_string(ari.open());
    start();
    auto rest = [&ari] {
        std::vector<std::string> out;
        for (auto& r : ari.http_requests())
            if (r != "GET /ari/events") out.push_back(r);
        return out;
    };
    // What a (re)connect costs (event filter, application, channels, then bridges) is per
    // connection, not per call.
    ASSERT_TRUE(wait_until(
        [&] {
            auto r = rest();
            return std::find(r.begin(), r.end(), "GET /ari/bridges") != r.end();
        },
        5s));
    const std::size_t before = rest().size();

    LabCall sipps(lab_, agent("1002", "agent_answer_on_notify.xml"),
                  genesys("1002", "genesys_notify_talk.xml", "UUID-REQUESTS", 500));
    EXPECT_EQ(sipps.wait_success(), "");
    expect_nothing_left();

    const std::vector<std::string> expected = {
        "POST /ari/channels/create",            // the agent leg, its variables in the body
        "POST /ari/channels/1002-agent/dial",   // (ids below are patterns, see the check)
        "POST /ari/channels/GENESYS/ring",      // Genesys gets 180
        "POST /ari/channels/GENESYS/answer",    // the agent answered: Genesys gets 200
        "POST /ari/bridges",                    // the mixing bridge ...
        "POST /ari/bridges/BRIDGE/addChannel",  // ... with both legs in one request
        "DELETE /ari/channels/AGENT",           // Genesys hung up: the agent leg
        "DELETE /ari/bridges/BRIDGE",           // and the bridge
    };
    wait_until([&] { return rest().size() - before >= expected.size(); }, 5s);
    // Nothing more trickles in after the call.
    wait_until([&] { return rest().size() - before > expected.size(); }, 1s);
    auto all = rest();
    std::vector<std::string> call(all.begin() + static_cast<std::ptrdiff_t>(before), all.end());
    std::string listing;
    for (const auto& r : call) listing += "\n  " + r;
    ASSERT_EQ(call.size(), expected.size()) << "ARI requests for one call:" << listing;
    auto shape = [](const std::string& r) {  // "POST /ari/channels" + what follows the id
        const auto verb_end = r.find(' ');
        const std::string verb = r.substr(0, verb_end);
        std::vector<std::string> parts;
        std::size_t pos = verb_end + 1;
        while (pos <= r.size()) {
            const auto next = r.find('/', pos);
            parts.push_back(
                r.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
            if (next == std::string::npos) break;
            pos = next + 1;
        }
        // parts: "", "ari", resource[, id[, action]]
        std::string out = verb + " " + (parts.size() > 2 ? parts[2] : "");
        if (parts.size() > 4)
            out += "/" + parts[4];
        else if (parts.size() == 4 && parts[3] == "create")
            out += "/create";
        else if (parts.size() == 4)
            out += "/ID";
        return out;
    };
    std::multiset<std::string> want, got;
    for (const auto& r : expected) want.insert(shape(r));
    for (const auto& r : call) got.insert(shape(r));
    EXPECT_EQ(got, want) << "ARI requests for one call:" << listing;

    // The events the flow does not read (ChannelVarset, ...) are filtered out in Asterisk.
    web::http::client::http_client_config hc;
    hc.set_timeout(2s);
    hc.set_credentials(web::credentials(lab_["LAB_ARI_USER"], lab_["LAB_ARI_PASSWORD"]));
    web::http::client::http_client c(lab_["LAB_ARI_URL"] + "/ari", hc);
    auto app = c.request(web::http::methods::GET, "/applications/" + lab_["LAB_ARI_APP"])
                   .get()
                   .extract_json()
                   .get();
    std::set<std::string> allowed;
    for (const auto& f : app.at("events_allowed").as_array())
        allowed.insert(f.at("type").as_string());
    EXPECT_EQ(allowed, (std::set<std::string>{"StasisStart", "StasisEnd", "ChannelStateChange",
                                              "Dial", "ChannelHangupRequest", "ChannelDestroyed",
                                              "ChannelUserevent", "ApplicationReplaced"}));
}

TEST_F(ControllerLabTest, RetransmittedNotifyAnswersOnce) {
    start();
    auto go = genesys("1002", "genesys_notify_talk_x5.xml", "UUID-X5", 500);
    // The 200 to the INVITE may come while sipp still sends the retransmissions: sipp then
    // drops it instead of failing, and takes Asterisk's retransmitted 200.
    go.extra.insert(go.extra.end(), {"-default_behaviors", "all,-abortunexp"});
    LabCall call(lab_, agent("1002", "agent_answer_on_notify.xml"), go);  // a 2nd NOTIFY fails it
    EXPECT_EQ(call.wait_success(), "");
    EXPECT_EQ(answers(metrics::AnswerPath::pjsip_notify, metrics::ActionOutcome::ok), 1u);
    EXPECT_EQ(bridge_requests("/answer/"), 1u);
    EXPECT_EQ(metrics_.notify_received.labels({"talk", "hep"}).value(), 1u);
    expect_nothing_left();
}

TEST_F(ControllerLabTest, AgentBusyGivesGenesys486) {
    start();
    LabCall call(lab_, agent("1003", "agent_busy.xml"),
                 genesys("1003", "genesys_expect_486.xml", "UUID-BUSY"));
    EXPECT_EQ(call.wait_success(), "");
    EXPECT_EQ(metrics_.calls.labels({"busy"}).value(), 1u);
    expect_nothing_left();
}

TEST_F(ControllerLabTest, AgentNeverAnsweringGivesGenesys408) {
    config_.agent_ring_timeout = 3s;
    start();
    LabCall call(lab_, agent("1004", "agent_ring_no_answer.xml"),
                 genesys("1004", "genesys_expect_408.xml", "UUID-NOANSWER"));
    EXPECT_EQ(call.wait_success(), "");
    EXPECT_EQ(metrics_.calls.labels({"no_answer"}).value(), 1u);
    expect_nothing_left();
}

TEST_F(ControllerLabTest, UnregisteredAgentGivesGenesys480) {
    start();  // agent 1009 has no registered contact: its WebRTC client is not there
    Sipp g(lab_, genesys("1009", "genesys_expect_480.xml", "UUID-UNREGISTERED"));
    EXPECT_EQ(g.wait_success(10s), "");
    EXPECT_EQ(metrics_.calls.labels({"unavailable"}).value(), 1u);
    expect_nothing_left();
}

TEST_F(ControllerLabTest, UnknownDnGivesGenesys480) {
    start();  // no endpoint 4321 at all: creating the agent leg fails
    Sipp g(lab_, genesys("4321", "genesys_expect_480.xml", "UUID-NODN"));
    EXPECT_EQ(g.wait_success(10s), "");
    expect_nothing_left();
}

TEST_F(ControllerLabTest, AgentHangupHangsUpGenesys) {
    start();
    LabCall call(lab_, agent("1005", "agent_answer_then_bye.xml"),
                 genesys("1005", "genesys_notify_talk_remote_bye.xml", "UUID-AGENTBYE"));
    EXPECT_EQ(call.agent.wait_success(15s), "");  // the agent hangs up first
    EXPECT_EQ(call.genesys.wait_success(10s), "");
    EXPECT_EQ(metrics_.calls.labels({"agent_hangup"}).value(), 1u);
    expect_nothing_left();
}

TEST_F(ControllerLabTest, BridgeApiDownStillAnswersThroughPjsipNotifyAndCountsTheFailure) {
    config_.bridge_api_url = "http://127.0.0.1:" + std::to_string(test::free_loopback_port());
    start();
    LabCall call(lab_, agent("1002", "agent_answer_on_notify.xml"),
                 genesys("1002", "genesys_notify_talk.xml", "UUID-NOBRIDGE", 1000));
    EXPECT_EQ(call.wait_success(), "");
    EXPECT_EQ(answers(metrics::AnswerPath::pjsip_notify, metrics::ActionOutcome::ok), 1u);
    EXPECT_TRUE(wait_until(
        [this] {
            return answers(metrics::AnswerPath::bridge_answer, metrics::ActionOutcome::error) ==
                       1 &&
                   answers(metrics::AnswerPath::bridge_notify, metrics::ActionOutcome::error) == 1;
        },
        5s));
    expect_nothing_left();
}

TEST_F(ControllerLabTest, NotifyForUnknownCallIsCountedAndIgnored) {
    start();
    Sipp g(lab_, genesys("1002", "genesys_stray_notify.xml", "UUID-STRAY"));
    EXPECT_TRUE(
        wait_until([this] { return metrics_.notify_unmatched.labels({"talk"}).value() == 1; }, 5s));
    g.wait(5s);
    EXPECT_EQ(bridge_.requests().size(), 0u);
    auto r = controller_->readiness();
    EXPECT_TRUE(r.ari_up && r.ami_up && r.hep_up);  // still serving
}

TEST_F(ControllerLabTest, ImmediatePolicyAnswersWithoutAnyNotify) {
    config_.answer_policy_per_dn["1006"] = AnswerPolicy::immediate;
    start();
    LabCall call(lab_, agent("1006", "agent_auto_answer_call_info.xml"),
                 genesys("1006", "genesys_plain.xml", "UUID-IMMEDIATE", 1000));
    EXPECT_EQ(call.wait_success(), "");
    EXPECT_EQ(bridge_requests("/answer/1006"), 1u);
    EXPECT_EQ(answers(metrics::AnswerPath::pjsip_notify, metrics::ActionOutcome::ok), 0u);
    expect_nothing_left();
}

TEST_F(ControllerLabTest, OffPolicyNeverAnswersEvenOnNotifyTalk) {
    config_.answer_policy = AnswerPolicy::off;
    config_.agent_ring_timeout = 3s;
    start();
    LabCall call(lab_, agent("1002", "agent_ring_no_answer.xml"),  // fails on any NOTIFY
                 genesys("1002", "genesys_notify_talk_expect_408.xml", "UUID-OFF"));
    EXPECT_EQ(call.wait_success(), "");
    EXPECT_EQ(bridge_requests("/answer/"), 0u);
    expect_nothing_left();
}

TEST_F(ControllerLabTest, ThreeDnsAtOnceAndTwoCallsToOneDn) {
    start();
    std::vector<std::unique_ptr<Sipp>> agents, callers;
    for (const char* dn : {"1002", "1003", "1004"})
        agents.push_back(std::make_unique<Sipp>(lab_, agent(dn, "agent_answer_on_notify.xml")));
    agents.push_back(std::make_unique<Sipp>(lab_, agent("1005", "agent_answer_on_notify.xml", 2)));
    for (const char* dn : {"1002", "1003", "1004"})
        callers.push_back(std::make_unique<Sipp>(
            lab_, genesys(dn, "genesys_notify_talk.xml", std::string("UUID-MULTI-") + dn, 2000)));
    callers.push_back(std::make_unique<Sipp>(
        lab_, genesys("1005", "genesys_notify_talk.xml", "UUID-MULTI-1005", 2000, 2)));
    EXPECT_TRUE(wait_until([this] { return tracked_calls() == 5; }, 10s))
        << "expected 5 calls tracked at once, saw " << tracked_calls();
    for (auto& c : callers) EXPECT_EQ(c->wait_success(20s), "");
    for (auto& a : agents) EXPECT_EQ(a->wait_success(10s), "");
    EXPECT_EQ(answers(metrics::AnswerPath::pjsip_notify, metrics::ActionOutcome::ok), 5u);
    EXPECT_EQ(bridge_requests("/answer/1005"), 2u);
    expect_nothing_left();
}

TEST_F(ControllerLabTest, NotifyHoldThenTalkHoldsAndRetrievesThroughTheAgent) {
    start();
    LabCall call(lab_, agent("1007", "agent_hold_retrieve.xml"),
                 genesys("1007", "genesys_hold_retrieve.xml", "UUID-HOLD", 500));
    // Genesys sees the agent's own sendonly / sendrecv re-INVITEs (moh_passthrough), so the
    // hold is real media hold, not music on hold played by Asterisk.
    EXPECT_EQ(call.wait_success(20s, 10s), "");
    std::vector<std::string> events;
    for (const auto& r : bridge_.requests())
        if (r.path == "/genesys-call-notify") events.push_back(r.body.value("event", ""));
    EXPECT_EQ(events, (std::vector<std::string>{"talk", "hold", "talk"}));
    EXPECT_EQ(answers(metrics::AnswerPath::pjsip_notify, metrics::ActionOutcome::ok), 3u);
    expect_nothing_left();
}

TEST_F(ControllerLabTest, AsteriskRestartClosesCallsThatEndedWhileDisconnected) {
    config_.agent_ring_timeout = 60s;
    start();
    {
        LabCall call(lab_, agent("1004", "agent_ring_no_answer.xml"),
                     genesys("1004", "genesys_expect_408.xml", "UUID-RESTART"));
        ASSERT_TRUE(wait_until([this] { return tracked_calls() == 1; }, 10s));
        lab_.crash();  // every channel is gone and no event tells talkgate so
        lab_.start_again();
    }
    EXPECT_TRUE(
        wait_until([this] { return metrics_.resync_repairs.labels({"closed"}).value() == 1; }, 30s))
        << "the lost call was not closed after the reconnect";
    EXPECT_EQ(tracked_calls(), 0u);
    EXPECT_TRUE(wait_until(
        [this] {
            auto r = controller_->readiness();
            return r.ari_up && r.ami_up;
        },
        30s));
    EXPECT_GE(metrics_.reconnects.labels({"ari"}).value(), 1u);
    // And the next call works.
    LabCall call(lab_, agent("1002", "agent_answer_on_notify.xml"),
                 genesys("1002", "genesys_notify_talk.xml", "UUID-AFTER-RESTART", 500));
    EXPECT_EQ(call.wait_success(), "");
    expect_nothing_left();
}

TEST_F(ControllerLabTest, CallsAfterQuietPeriodsLongerThanAsterisksKeepAliveAreAnswered) {
    // Asterisk closes an HTTP keep-alive connection idle for 15 s (session_keep_alive): the
    // first ARI requests after each quiet period (POST /channels/create with a body first)
    // must not meet a closed pooled connection.
    start();
    for (int round = 0; round < 3; ++round) {
        SCOPED_TRACE("call after quiet period " + std::to_string(round));
        if (round > 0) std::this_thread::sleep_for(16s);
        LabCall call(
            lab_, agent("1002", "agent_answer_on_notify.xml"),
            genesys("1002", "genesys_notify_talk.xml", "UUID-QUIET-" + std::to_string(round), 300));
        EXPECT_EQ(call.wait_success(), "");
    }
    EXPECT_EQ(metrics_.calls.labels({"genesys_hangup"}).value(), 3u);
    expect_nothing_left();
}

TEST_F(ControllerLabTest, PjsipNotifyMissedWhileAmiWasDownIsSentWhenAmiReturns) {
    TcpRelay ami(lab_["LAB_AMI_HOST"], lab_.port("LAB_AMI_PORT"));
    const int ami_port = ami.open();
    config_.ami_port = static_cast<unsigned short>(ami_port);
    config_.agent_ring_timeout = 20s;
    start();
    ami.close();
    ASSERT_TRUE(wait_until([this] { return !controller_->readiness().ami_up; }, 5s));

    LabCall call(lab_, agent("1002", "agent_answer_on_notify.xml"),
                 genesys("1002", "genesys_notify_talk.xml", "UUID-AMI-DOWN", 500));
    // The NOTIFY talk was acted on while AMI was down: the bridge API went out, PJSIPNotify not.
    ASSERT_TRUE(bridge_.wait_for("/answer/1002", 1, 10s)) << call.output();
    EXPECT_EQ(answers(metrics::AnswerPath::pjsip_notify, metrics::ActionOutcome::error), 1u);
    EXPECT_EQ(answers(metrics::AnswerPath::pjsip_notify, metrics::ActionOutcome::ok), 0u);

    ami.open(ami_port);  // the agent answers only on the PJSIPNotify sent now
    EXPECT_EQ(call.wait_success(25s, 10s), "");
    EXPECT_EQ(answers(metrics::AnswerPath::pjsip_notify, metrics::ActionOutcome::ok), 1u);
    expect_nothing_left();
}

// Agent 1009 registered from the lab's agent address (127.0.0.3) while the test runs, so
// AMI PJSIPShowContacts gives talkgate a {contact_host}; unregistered at the end, as later
// tests want 1009 absent.
class DesktopAgent {
  public:
    explicit DesktopAgent(const LabEnv& lab) : lab_(lab) {
        Sipp reg(lab_, registration("ami_agent_register.xml"));
        registered_ = reg.wait_success(10s);
    }
    ~DesktopAgent() {
        Sipp unreg(lab_, registration("agent_unregister.xml"));
        EXPECT_EQ(unreg.wait_success(10s), "");
    }
    // Empty when the registration succeeded, else sipp's complaint.
    const std::string& registered() const { return registered_; }

  private:
    Sipp::Options registration(const char* scenario) {
        Sipp::Options o;
        o.scenario = scenario;
        o.local_ip = lab_["LAB_AGENT_IP"];
        o.local_port = lab_.port("LAB_AGENT_PORT_BASE") + 9;
        o.service = "1009";
        o.timeout = 10s;
        o.extra = {"-au", "1009", "-ap", lab_["LAB_AGENT_PASSWORD"]};
        return o;
    }

    const LabEnv& lab_;
    std::string registered_;
};

TEST_F(ControllerLabTest, BridgeApiOnTheAgentsDesktopIsFoundThroughItsRegisteredContact) {
    // Each agent's desktop runs its own bridge: BRIDGE_API_URL names {contact_host}, the host
    // of the contact the agent registered (AMI PJSIPShowContacts). Agent 1009 registers from
    // 127.0.0.3, where its "desktop" bridge listens.
    FakeBridgeApi desktop(lab_["LAB_AGENT_IP"]);
    config_.bridge_api_url = "http://{contact_host}:" + std::to_string(desktop.port());
    config_.bridge_api_contact_allow = {"127.0.0.3/32"};
    DesktopAgent registered(lab_);
    ASSERT_EQ(registered.registered(), "");
    start();
    {
        LabCall call(lab_, agent("1009", "agent_answer_on_notify.xml"),
                     genesys("1009", "genesys_notify_talk.xml", "UUID-DESKTOP", 500));
        EXPECT_EQ(call.wait_success(), "");
    }
    EXPECT_TRUE(desktop.wait_for("/answer/1009", 1, 5s));
    EXPECT_TRUE(desktop.wait_for("/genesys-call-notify", 1, 5s));
    EXPECT_EQ(bridge_.requests().size(), 0u);
    EXPECT_EQ(metrics_.bridge_api_refused.labels({"contact_not_allowed"}).value(), 0u);
    expect_nothing_left();
}

// Issue 11: a registered contact outside BRIDGE_API_CONTACT_ALLOW cannot point talkgate's
// bridge requests at its host: refused and counted, no request reaches that host, and the
// call is still answered through PJSIPNotify.
TEST_F(ControllerLabTest, BridgeApiContactOutsideTheAllowListIsRefusedAndCounted) {
    FakeBridgeApi desktop(lab_["LAB_AGENT_IP"]);
    config_.bridge_api_url = "http://{contact_host}:" + std::to_string(desktop.port());
    config_.bridge_api_contact_allow = {"127.0.0.9/32", "desktop.example.net"};
    DesktopAgent registered(lab_);
    ASSERT_EQ(registered.registered(), "");
    start();
    {
        LabCall call(lab_, agent("1009", "agent_answer_on_notify.xml"),
                     genesys("1009", "genesys_notify_talk.xml", "UUID-NOT-ALLOWED", 500));
        EXPECT_EQ(call.wait_success(), "");
    }
    // The bridge answer (and the notify, each looks the contact up) was refused.
    EXPECT_TRUE(wait_until(
        [this] {
            return metrics_.bridge_api_refused.labels({"contact_not_allowed"}).value() >= 1u;
        },
        5s))
        << metrics_.bridge_api_refused.labels({"contact_not_allowed"}).value();
    EXPECT_TRUE(desktop.requests().empty()) << "a request reached the refused contact's host";
    EXPECT_TRUE(bridge_.requests().empty());
    EXPECT_EQ(answers(metrics::AnswerPath::pjsip_notify, metrics::ActionOutcome::ok), 1u);
    expect_nothing_left();
}

}  // namespace
}  // namespace talkgate::test
