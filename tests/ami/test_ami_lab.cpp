// The AMI client against the real Asterisk 22 lab: login (good and bad), PJSIPNotify to a
// ringing sipp agent, CoreShowChannels, Getvar, UserEvent, PJSIPShowContacts of a registered
// agent, and reconnecting after Asterisk restarts.
#include "ami_test_harness.hpp"
#include "lab_env.hpp"
#include "sipp.hpp"

#include <gtest/gtest.h>

namespace {

using namespace std::chrono_literals;
using talkgate::ami::Action;
using talkgate::ami::ChannelInfo;
using talkgate::ami::ConnectionState;
using talkgate::ami::Contact;
using talkgate::ami::Message;
using talkgate::ami::Reply;
using talkgate::ami::Settings;
using talkgate::test::CapturedLog;
using talkgate::test::ClientHarness;
using talkgate::test::LabEnv;
using talkgate::test::Sipp;
using Kind = ConnectionState::Kind;

Settings lab_settings(const LabEnv& lab) {
    Settings s;
    s.host = lab["LAB_AMI_HOST"];
    s.port = static_cast<std::uint16_t>(lab.port("LAB_AMI_PORT"));
    s.username = lab["LAB_AMI_USER"];
    s.secret = lab["LAB_AMI_SECRET"];
    s.connect_timeout = 5s;
    s.action_timeout = 5s;
    s.keepalive_interval = 2s;
    s.pong_deadline = 2s;
    s.reconnect_min = 200ms;
    s.reconnect_max = 2s;
    return s;
}

class AmiLab : public ::testing::Test {
  protected:
    void TearDown() override { lab.reset(); }

    // A client logged in to the lab.
    std::unique_ptr<ClientHarness> connect(std::shared_ptr<spdlog::logger> log = nullptr) {
        auto h = std::make_unique<ClientHarness>(lab_settings(lab), std::move(log));
        h->client().start();
        auto st = h->wait_state(Kind::connected, 15s);
        if (!st) throw std::runtime_error("AMI client did not connect to the lab within 15 s");
        return h;
    }

    // sipp as agent 100N (a UAS on that agent's fixed port) playing `scenario`. Each test uses
    // its own agent, so a late retransmission of one test's call never reaches the next one.
    std::unique_ptr<Sipp> agent(int n, const std::string& scenario) {
        Sipp::Options o;
        o.scenario = scenario;
        o.local_ip = lab["LAB_AGENT_IP"];
        o.local_port = lab.port("LAB_AGENT_PORT_BASE") + n;
        o.uac = false;
        o.service = "100" + std::to_string(n);
        o.timeout = 40s;
        return std::make_unique<Sipp>(lab, o);
    }

    // Originates a call to PJSIP/100N (Wait(20) once answered) and returns the agent leg's
    // channel name once it rings.
    std::string ring_agent(ClientHarness& h, Sipp& agent, int n) {
        const std::string prefix = "PJSIP/100" + std::to_string(n) + "-";
        const auto log_offset = lab.log_size();
        auto r = h.call<Reply>(
            [&](auto done) {
                h.client().send(Action("Originate", {{"Channel", "PJSIP/100" + std::to_string(n)},
                                                     {"Application", "Wait"},
                                                     {"Data", "20"},
                                                     {"Async", "true"},
                                                     {"CallerID", "talkgate <5000>"},
                                                     {"Variable", "TG_LAB_VAR=ami-lab-value"}}),
                                std::move(done));
            },
            10s);
        if (!r || !*r) throw std::runtime_error("Originate failed");
        auto ringing = h.wait_event("Newstate", 10s, [&](const Message& m) {
            return m.get_or("Channel", "").rfind(prefix, 0) == 0 &&
                   m.get_or("ChannelStateDesc", "") == "Ringing";
        });
        if (!ringing) {
            throw std::runtime_error("agent leg " + prefix + " never rang\n" + agent.output() +
                                     "\n--- Asterisk log ---\n" + lab.log_since(log_offset));
        }
        return ringing->get_or("Channel", "");
    }

    const LabEnv& lab = LabEnv::get();
};

TEST_F(AmiLab, GoodLoginConnectsAndReceivesFullyBootedAndPong) {
    CapturedLog log;
    {
        auto h = connect(log.logger);
        EXPECT_TRUE(h->wait_event("FullyBooted", 5s)) << "no FullyBooted after Login";
        auto pong = h->call<Message>([&](auto done) { h->client().ping(std::move(done)); }, 5s);
        ASSERT_TRUE(pong);
        ASSERT_TRUE(*pong) << pong->error().describe();
        EXPECT_EQ(pong->value().get("Ping"), "Pong");
        EXPECT_TRUE(h->callbacks_on_io_thread());
    }
    const auto text = log.text();
    EXPECT_NE(text.find("AMI connected"), std::string::npos) << text;
    EXPECT_NE(text.find("Asterisk Call Manager/"), std::string::npos) << text;
    EXPECT_EQ(text.find(lab["LAB_AMI_SECRET"]), std::string::npos) << "the secret was logged";
}

TEST_F(AmiLab, BadLoginReportsAsterisksMessageAndLogsNoSecret) {
    CapturedLog log;
    auto s = lab_settings(lab);
    s.secret = "wrong-" + lab["LAB_AMI_SECRET"].substr(0, 6) + "-x";
    {
        ClientHarness h(s, log.logger);
        h.client().start();
        auto st = h.wait_state(Kind::login_failed, 15s);
        ASSERT_TRUE(st) << "no login_failed state";
        EXPECT_EQ(st->reason, "Authentication failed");
        EXPECT_EQ(st->retry_in, s.reconnect_max);
        EXPECT_FALSE(h.wait_state(Kind::connected, 500ms));
    }
    const auto text = log.text();
    EXPECT_NE(text.find("Authentication failed"), std::string::npos) << text;
    EXPECT_EQ(text.find(s.secret), std::string::npos) << "the wrong secret was logged";
    EXPECT_EQ(text.find(lab["LAB_AMI_SECRET"]), std::string::npos);
}

TEST_F(AmiLab, PjsipNotifyTalkMakesTheRingingAgentReceiveNotifyAndAnswer) {
    auto h = connect();
    auto agent = this->agent(1, "agent_answer_on_notify.xml");
    const std::string channel = ring_agent(*h, *agent, 1);

    auto sent = h->call<Message>(
        [&](auto done) { h->client().pjsip_notify_channel(channel, "talk", std::move(done)); },
        10s);
    ASSERT_TRUE(sent);
    ASSERT_TRUE(*sent) << sent->error().describe();
    EXPECT_EQ(sent->value().get("Message"), "NOTIFY sent");

    // The scenario answers the INVITE only after a NOTIFY with Event: talk.
    auto up = h->wait_event("Newstate", 10s, [&](const Message& m) {
        return m.get_or("Channel", "") == channel && m.get_or("ChannelStateDesc", "") == "Up";
    });
    ASSERT_TRUE(up) << "agent never answered after NOTIFY talk\n" << agent->output();
    auto same_channel = [&](const Message& m) { return m.get_or("Channel", "") == channel; };
    EXPECT_TRUE(h->seen_event("Newchannel", same_channel));
    lab.reset();
    EXPECT_EQ(agent->wait_success(10s), "");
    EXPECT_TRUE(h->wait_event("Hangup", 5s, same_channel)) << "no Hangup event for " << channel;
}

TEST_F(AmiLab, PjsipNotifyHoldOnARingingAgentIsNotTakenAsTalk) {
    auto h = connect();
    auto agent = this->agent(3, "agent_answer_on_notify.xml");
    const std::string channel = ring_agent(*h, *agent, 3);
    auto sent = h->call<Message>(
        [&](auto done) { h->client().pjsip_notify_channel(channel, "hold", std::move(done)); },
        10s);
    ASSERT_TRUE(sent && *sent);
    // The agent scenario checks the Event header: on "hold" it never answers, and fails.
    EXPECT_FALSE(h->wait_event("Newstate", 1s, [&](const Message& m) {
        return m.get_or("Channel", "") == channel && m.get_or("ChannelStateDesc", "") == "Up";
    }));
    lab.reset();
    auto code = agent->wait(10s);
    ASSERT_TRUE(code) << "sipp still runs after the call was cancelled\n" << agent->output();
    EXPECT_NE(*code, 0) << agent->output();
}

TEST_F(AmiLab, CoreShowChannelsListsALiveCallAndGetvarReadsItsVariable) {
    auto h = connect();
    auto agent = this->agent(2, "ami_agent_ring.xml");
    const std::string channel = ring_agent(*h, *agent, 2);

    auto list = h->call<std::vector<ChannelInfo>>(
        [&](auto done) { h->client().core_show_channels(std::move(done)); }, 10s);
    ASSERT_TRUE(list);
    ASSERT_TRUE(*list) << list->error().describe();
    const ChannelInfo* found = nullptr;
    for (const auto& c : list->value()) {
        if (c.channel == channel) found = &c;
    }
    ASSERT_NE(found, nullptr) << "CoreShowChannels did not list " << channel;
    EXPECT_EQ(found->state, "Ringing");
    EXPECT_FALSE(found->uniqueid.empty());

    auto value = h->call<std::string>(
        [&](auto done) { h->client().getvar(channel, "TG_LAB_VAR", std::move(done)); }, 10s);
    ASSERT_TRUE(value);
    ASSERT_TRUE(*value) << value->error().describe();
    EXPECT_EQ(value->value(), "ami-lab-value");

    auto missing = h->call<std::string>(
        [&](auto done) { h->client().getvar("PJSIP/none-00000000", "X", std::move(done)); }, 10s);
    ASSERT_TRUE(missing);
    ASSERT_FALSE(*missing);
    EXPECT_EQ(missing->error().kind, talkgate::ami::Error::Kind::asterisk);
    EXPECT_FALSE(missing->error().message.empty());
    lab.reset();
    EXPECT_EQ(agent->wait_success(10s), "");
}

TEST_F(AmiLab, UserEventComesBackAsAnEventWithItsFields) {
    auto h = connect();
    auto sent = h->call<Message>(
        [&](auto done) {
            h->client().user_event("TalkgateAmiLab", {{"NotifyEvent", "talk"}, {"Dn", "1002"}},
                                   std::move(done));
        },
        10s);
    ASSERT_TRUE(sent);
    ASSERT_TRUE(*sent) << sent->error().describe();
    auto ev = h->wait_event("UserEvent", 5s, [](const Message& m) {
        return m.get_or("UserEvent", "") == "TalkgateAmiLab";
    });
    ASSERT_TRUE(ev);
    EXPECT_EQ(ev->get("NotifyEvent"), "talk");
    EXPECT_EQ(ev->get("Dn"), "1002");
}

TEST_F(AmiLab, PjsipShowContactsReturnsTheRegisteredAgentsContactHost) {
    Sipp::Options o;
    o.scenario = "ami_agent_register.xml";
    o.local_ip = lab["LAB_AGENT_IP"];
    o.service = "1009";
    o.timeout = 15s;
    o.extra = {"-au", "1009", "-ap", lab["LAB_AGENT_PASSWORD"]};
    Sipp reg(lab, o);
    ASSERT_EQ(reg.wait_success(15s), "");

    auto h = connect();
    auto contacts = h->call<std::vector<Contact>>(
        [&](auto done) { h->client().pjsip_show_contacts(std::move(done)); }, 10s);
    ASSERT_TRUE(contacts);
    ASSERT_TRUE(*contacts) << contacts->error().describe();
    const Contact* c = talkgate::ami::contact_for_aor(contacts->value(), "1009");
    ASSERT_NE(c, nullptr) << "no contact for AOR 1009 among " << contacts->value().size();
    EXPECT_EQ(c->host, lab["LAB_AGENT_IP"]);
    EXPECT_EQ(c->port, reg.local_port());
    EXPECT_NE(c->uri.find("1009@"), std::string::npos) << c->uri;
}

TEST_F(AmiLab, ReconnectsAfterAsteriskRestarts) {
    auto h = connect();
    lab.restart();
    auto down = h->wait_state(Kind::disconnected, 10s);
    ASSERT_TRUE(down) << "the restart was not noticed";
    // Asterisk announces the restart (Shutdown event) and talkgate names it, unless Asterisk
    // closed the session before the event got out (seen once under TSan at load 7): then the
    // reason is the close itself.
    if (h->wait_event("Shutdown", 1s))
        EXPECT_NE(down->reason.find("Shutdown"), std::string::npos) << down->reason;
    else
        EXPECT_NE(down->reason.find("closed the connection"), std::string::npos) << down->reason;
    auto up = h->wait_state(Kind::connected, 60s);
    ASSERT_TRUE(up) << "no reconnect within 60 s of the restart";
    EXPECT_EQ(h->client().stats().connects, 2u);
    auto pong = h->call<Message>([&](auto done) { h->client().ping(std::move(done)); }, 5s);
    ASSERT_TRUE(pong && *pong);
}

}  // namespace
