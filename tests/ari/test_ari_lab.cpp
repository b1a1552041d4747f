// ari-client against the real Asterisk 22 lab: every REST operation on live sipp calls, the
// typed events each produces, ApplicationReplaced, and a reconnect across an Asterisk restart.
#include "ari_test_util.hpp"
#include "lab_env.hpp"
#include "sipp.hpp"

#include <ari/event_stream.hpp>
#include <ari/rest_client.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

namespace {

using namespace std::chrono_literals;
using ari_test::Recorder;
using ari_test::sync;
using ari_test::TaskThread;
using talkgate::test::LabEnv;
using talkgate::test::Sipp;
using Kind = ari::ConnectionState::Kind;

ari::ClientConfig lab_config(const LabEnv& lab) {
    ari::ClientConfig c;
    c.base_url = lab["LAB_ARI_URL"];
    c.user = lab["LAB_ARI_USER"];
    c.password = lab["LAB_ARI_PASSWORD"];
    c.app = lab["LAB_ARI_APP"];
    c.request_timeout = 5s;
    c.ping_interval = 1s;
    c.pong_timeout = 2s;
    c.backoff_initial = 200ms;
    c.backoff_max = 2s;
    return c;
}

Sipp::Options genesys(const std::string& scenario, const std::string& dn, const std::string& uuid) {
    Sipp::Options o;
    o.scenario = scenario;
    o.local_ip = LabEnv::get()["LAB_GENESYS_IP"];
    o.service = dn;
    o.timeout = 30s;
    o.extra = {"-set", "uuid", uuid};
    return o;
}

Sipp::Options agent(int n) {
    const auto& lab = LabEnv::get();
    Sipp::Options o;
    o.scenario = "ari_agent_answer.xml";
    o.local_ip = lab["LAB_AGENT_IP"];
    o.local_port = lab.port("LAB_AGENT_PORT_BASE") + n;
    o.service = "100" + std::to_string(n);
    o.uac = false;
    o.timeout = 30s;
    return o;
}

// Events from every test, appended to $ARI_RECORD_CORPUS when set (the benchmark's corpus).
std::vector<std::string>& corpus() {
    static std::vector<std::string> lines;
    return lines;
}

class AriLab : public ::testing::Test {
  protected:
    void SetUp() override {
        rec.record_into(&corpus());
        stream = std::make_unique<ari::EventStream>(config, worker.executor(), rec.event_handler(),
                                                    rec.state_handler());
        stream->start();
        ASSERT_TRUE(rec.state(Kind::connected, 10s)) << "events WebSocket did not connect";
    }
    void TearDown() override {
        stream.reset();
        lab.reset();
        if (const char* path = std::getenv("ARI_RECORD_CORPUS")) {
            std::ofstream out(path, std::ios::app);
            for (const auto& line : corpus()) out << line << "\n";
            corpus().clear();
        }
    }

    ari::StasisStart stasis_start(const std::string& arg0, Sipp& sipp) {
        auto start = rec.next<ari::StasisStart>(
            [&](const ari::StasisStart& e) { return !e.args.empty() && e.args[0] == arg0; }, 10s);
        EXPECT_TRUE(start) << "no StasisStart for " << arg0 << "\n" << sipp.output();
        return start ? *start : ari::StasisStart{};
    }

    template <class T>
    std::optional<T> channel_event(const std::string& channel_id, std::chrono::milliseconds d) {
        return rec.next<T>([&](const T& e) { return e.channel.id == channel_id; }, d);
    }

    const LabEnv& lab = LabEnv::get();
    ari::ClientConfig config = lab_config(lab);
    TaskThread worker;
    Recorder rec;
    ari::RestClient rest{config, worker.executor()};
    std::unique_ptr<ari::EventStream> stream;
};

TEST_F(AriLab, RestOperationsOnALiveGenesysCallAndTheirEvents) {
    const std::string uuid = "ARILAB0000000000000000000000001";
    Sipp call(lab, genesys("ari_genesys_call.xml", "1002", uuid));
    auto start = stasis_start("1002", call);
    const std::string id = start.channel.id;
    ASSERT_FALSE(id.empty());
    ASSERT_EQ(start.args.size(), 3u);
    EXPECT_EQ(start.args[1], start.channel.protocol_id) << "args[1] is the SIP Call-ID";
    EXPECT_EQ(start.args[2], uuid);
    EXPECT_EQ(start.channel.dialplan.context, "from-genesys");
    EXPECT_EQ(start.application, config.app);
    EXPECT_EQ(start.raw["channel"]["id"], id) << "raw JSON kept";
    EXPECT_EQ(rec.threads().back(), worker.id()) << "events run on the executor";

    auto call_id = sync<std::string>(
        [&](auto h) { rest.channel_get_variable(id, "CHANNEL(pjsip,call-id)", h); });
    ASSERT_TRUE(call_id) << call_id.error().describe();
    EXPECT_EQ(call_id.value(), start.channel.protocol_id);
    auto header = sync<std::string>(
        [&](auto h) { rest.channel_get_variable(id, "PJSIP_HEADER(read,X-Genesys-CallUUID)", h); });
    ASSERT_TRUE(header) << header.error().describe();
    EXPECT_EQ(header.value(), uuid);

    auto set = sync<ari::NoContent>(
        [&](auto h) { rest.channel_set_variable(id, "TALKGATE_TEST", "a b&c", h); });
    ASSERT_TRUE(set) << set.error().describe();
    auto varset = rec.next<ari::ChannelVarset>(
        [](const ari::ChannelVarset& e) { return e.variable == "TALKGATE_TEST"; }, 5s);
    ASSERT_TRUE(varset);
    EXPECT_EQ(varset->value, "a b&c");
    ASSERT_TRUE(varset->channel);
    EXPECT_EQ(varset->channel->id, id);

    auto ring = sync<ari::NoContent>([&](auto h) { rest.channel_ring(id, h); });
    ASSERT_TRUE(ring) << ring.error().describe();
    auto ring_stop = sync<ari::NoContent>([&](auto h) { rest.channel_ring_stop(id, h); });
    EXPECT_TRUE(ring_stop) << ring_stop.error().describe();

    auto list = sync<std::vector<ari::Channel>>([&](auto h) { rest.channels_list(h); });
    ASSERT_TRUE(list) << list.error().describe();
    EXPECT_TRUE(std::any_of(list.value().begin(), list.value().end(),
                            [&](const ari::Channel& c) { return c.id == id; }));

    auto answer = sync<ari::NoContent>([&](auto h) { rest.channel_answer(id, h); });
    ASSERT_TRUE(answer) << answer.error().describe();
    auto up = rec.next<ari::ChannelStateChange>(
        [&](const ari::ChannelStateChange& e) {
            return e.channel.id == id && e.channel.state == "Up";
        },
        5s);
    EXPECT_TRUE(up) << "no ChannelStateChange to Up after answer";
    auto got = sync<ari::Channel>([&](auto h) { rest.channel_get(id, h); });
    ASSERT_TRUE(got) << got.error().describe();
    EXPECT_EQ(got.value().state, "Up");
    EXPECT_EQ(got.value().protocol_id, start.channel.protocol_id);

    // ARI hold plays MOH locally (no moh_passthrough on the Genesys endpoint): no event, and
    // ChannelHold/ChannelUnhold only come from the far end's own re-INVITE.
    auto hold = sync<ari::NoContent>([&](auto h) { rest.channel_hold(id, h); });
    ASSERT_TRUE(hold) << hold.error().describe();
    auto unhold = sync<ari::NoContent>([&](auto h) { rest.channel_unhold(id, h); });
    ASSERT_TRUE(unhold) << unhold.error().describe();

    ari::DtmfParams dtmf;
    dtmf.dtmf = "12";
    auto sent = sync<ari::NoContent>([&](auto h) { rest.channel_send_dtmf(id, dtmf, h); });
    EXPECT_TRUE(sent) << sent.error().describe();

    auto user = sync<ari::NoContent>([&](auto h) {
        rest.user_event("GenesysNotify", "channel:" + id,
                        {{"NotifyEvent", "talk"}, {"CallUUID", uuid}}, h);
    });
    ASSERT_TRUE(user) << user.error().describe();
    auto ue = rec.next<ari::ChannelUserevent>(
        [](const ari::ChannelUserevent& e) { return e.eventname == "GenesysNotify"; }, 5s);
    ASSERT_TRUE(ue) << "no ChannelUserevent";
    EXPECT_EQ(ue->userevent.value("NotifyEvent", ""), "talk");
    EXPECT_EQ(ue->userevent.value("CallUUID", ""), uuid);
    ASSERT_TRUE(ue->channel);
    EXPECT_EQ(ue->channel->id, id);

    auto missing = sync<ari::Channel>([&](auto h) { rest.channel_get("no-such-channel", h); });
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().kind, ari::Error::Kind::http);
    EXPECT_EQ(missing.error().http_status, 404);
    EXPECT_EQ(missing.error().message, "Channel not found");

    auto hangup = sync<ari::NoContent>([&](auto h) { rest.channel_hangup(id, "normal", h); });
    ASSERT_TRUE(hangup) << hangup.error().describe();
    EXPECT_TRUE(channel_event<ari::ChannelHangupRequest>(id, 5s)) << "no ChannelHangupRequest";
    EXPECT_TRUE(channel_event<ari::StasisEnd>(id, 5s)) << "no StasisEnd";
    EXPECT_EQ(call.wait_success(10s), "") << "Genesys saw 180, 200 and a BYE";
}

TEST_F(AriLab, HangupWithReasonBusyGivesGenesys486) {
    Sipp call(lab, genesys("ari_genesys_busy.xml", "1005", "ARILABBUSY"));
    auto start = stasis_start("1005", call);
    ASSERT_FALSE(start.channel.id.empty());
    auto hangup =
        sync<ari::NoContent>([&](auto h) { rest.channel_hangup(start.channel.id, "busy", h); });
    ASSERT_TRUE(hangup) << hangup.error().describe();
    EXPECT_TRUE(channel_event<ari::StasisEnd>(start.channel.id, 5s));
    EXPECT_EQ(call.wait_success(10s), "") << "Genesys expected 486 Busy Here";
}

TEST_F(AriLab, AgentLegCreatedDialledAndBridgedWithTheGenesysLeg) {
    Sipp agent_phone(lab, agent(3));
    Sipp call(lab, genesys("ari_genesys_call.xml", "1003", "ARILABBRIDGE"));
    auto start = stasis_start("1003", call);
    const std::string gid = start.channel.id;
    ASSERT_FALSE(gid.empty());
    ASSERT_TRUE(sync<ari::NoContent>([&](auto h) { rest.channel_ring(gid, h); }));

    ari::CreateChannelParams create;
    create.endpoint = "PJSIP/1003";
    create.app_args = "agent," + gid;
    create.originator = gid;
    create.variables = {{"PJSIP_HEADER(add,X-Talkgate-Test)", "talkgate-header-ok"}};
    auto created = sync<ari::Channel>([&](auto h) { rest.channel_create(create, h); });
    ASSERT_TRUE(created) << created.error().describe();
    const std::string aid = created.value().id;
    // Dial only once the new channel is in the app (see shared facts: 409 otherwise).
    auto agent_start = stasis_start("agent", call);
    EXPECT_EQ(agent_start.channel.id, aid);
    ASSERT_EQ(agent_start.args.size(), 2u);
    EXPECT_EQ(agent_start.args[1], gid);

    // A subscribeAll observer (another app name) sees bridge life-cycle events too.
    TaskThread observer_worker;
    Recorder observer;
    ari::ClientConfig all = config;
    all.app = config.app + "-observer";
    all.subscribe_all = true;
    ari::EventStream observer_stream(all, observer_worker.executor(), observer.event_handler(),
                                     observer.state_handler());
    std::vector<std::string> observed;
    observer.record_into(&observed);
    observer_stream.start();
    ASSERT_TRUE(observer.state(Kind::connected, 10s));

    auto dial = sync<ari::NoContent>([&](auto h) { rest.channel_dial(aid, gid, 15, h); });
    ASSERT_TRUE(dial) << dial.error().describe();
    auto dialling = rec.next<ari::Dial>(
        [&](const ari::Dial& e) { return e.peer.id == aid && e.dialstatus.empty(); }, 5s);
    ASSERT_TRUE(dialling);
    EXPECT_EQ(dialling->dialstring, "1003");
    auto answered = rec.next<ari::Dial>(
        [&](const ari::Dial& e) { return e.peer.id == aid && e.dialstatus == "ANSWER"; }, 10s);
    ASSERT_TRUE(answered) << "no Dial ANSWER\n" << agent_phone.output();
    EXPECT_TRUE(rec.next<ari::ChannelStateChange>(
        [&](const ari::ChannelStateChange& e) {
            return e.channel.id == aid && e.channel.state == "Up";
        },
        5s));
    ASSERT_TRUE(sync<ari::NoContent>([&](auto h) { rest.channel_answer(gid, h); }));

    auto bridge = sync<ari::Bridge>([&](auto h) { rest.bridge_create("mixing", "", "call", h); });
    ASSERT_TRUE(bridge) << bridge.error().describe();
    const std::string bid = bridge.value().id;
    EXPECT_EQ(bridge.value().bridge_type, "mixing");
    EXPECT_TRUE(observer.next<ari::BridgeCreated>(
        [&](const ari::BridgeCreated& e) { return e.bridge.id == bid; }, 5s));
    for (const auto& ch : {gid, aid}) {
        auto add = sync<ari::NoContent>([&](auto h) { rest.bridge_add_channel(bid, ch, h); });
        ASSERT_TRUE(add) << add.error().describe();
        EXPECT_TRUE(rec.next<ari::ChannelEnteredBridge>(
            [&](const ari::ChannelEnteredBridge& e) {
                return e.bridge.id == bid && e.channel.id == ch;
            },
            5s))
            << "no ChannelEnteredBridge for " << ch;
    }
    auto bridges = sync<std::vector<ari::Bridge>>([&](auto h) { rest.bridges_list(h); });
    ASSERT_TRUE(bridges);
    auto it = std::find_if(bridges.value().begin(), bridges.value().end(),
                           [&](const ari::Bridge& b) { return b.id == bid; });
    ASSERT_NE(it, bridges.value().end());
    EXPECT_EQ(it->channels.size(), 2u);

    auto removed = sync<ari::NoContent>([&](auto h) { rest.bridge_remove_channel(bid, aid, h); });
    ASSERT_TRUE(removed) << removed.error().describe();
    EXPECT_TRUE(rec.next<ari::ChannelLeftBridge>(
        [&](const ari::ChannelLeftBridge& e) { return e.channel.id == aid; }, 5s));
    auto destroyed = sync<ari::NoContent>([&](auto h) { rest.bridge_destroy(bid, h); });
    ASSERT_TRUE(destroyed) << destroyed.error().describe();
    EXPECT_TRUE(observer.next<ari::BridgeDestroyed>(
        [&](const ari::BridgeDestroyed& e) { return e.bridge.id == bid; }, 5s));

    ASSERT_TRUE(sync<ari::NoContent>([&](auto h) { rest.channel_hangup(aid, "normal", h); }));
    ASSERT_TRUE(sync<ari::NoContent>([&](auto h) { rest.channel_hangup(gid, "normal", h); }));
    EXPECT_EQ(agent_phone.wait_success(10s), "") << "agent saw the header, answered, got BYE";
    EXPECT_EQ(call.wait_success(10s), "");
    observer_stream.stop();
    rec.record_lines(observed);
}

TEST_F(AriLab, OriginateSendsCustomHeaderAndEntersTheAppWhenAnswered) {
    Sipp agent_phone(lab, agent(4));
    ari::OriginateParams o;
    o.endpoint = "PJSIP/1004";
    o.app_args = "originated";
    o.caller_id = "Talkgate <5551234>";
    o.timeout_s = 15;
    o.variables = {{"PJSIP_HEADER(add,X-Talkgate-Test)", "talkgate-header-ok"}};
    auto ch = sync<ari::Channel>([&](auto h) { rest.channel_originate(o, h); });
    ASSERT_TRUE(ch) << ch.error().describe();
    auto start = stasis_start("originated", agent_phone);
    EXPECT_EQ(start.channel.id, ch.value().id);
    EXPECT_EQ(start.channel.state, "Up");
    ASSERT_TRUE(
        sync<ari::NoContent>([&](auto h) { rest.channel_hangup(ch.value().id, "normal", h); }));
    EXPECT_EQ(agent_phone.wait_success(10s), "") << "agent checks X-Talkgate-Test";
}

TEST_F(AriLab, EndpointsApplicationsAndEventFilter) {
    auto endpoints = sync<std::vector<ari::Endpoint>>([&](auto h) { rest.endpoints_list(h); });
    ASSERT_TRUE(endpoints) << endpoints.error().describe();
    EXPECT_TRUE(std::any_of(
        endpoints.value().begin(), endpoints.value().end(),
        [](const ari::Endpoint& e) { return e.technology == "PJSIP" && e.resource == "1002"; }));
    auto one = sync<ari::Endpoint>([&](auto h) { rest.endpoint_get("PJSIP", "1008", h); });
    ASSERT_TRUE(one) << one.error().describe();
    EXPECT_EQ(one.value().resource, "1008");
    auto none = sync<ari::Endpoint>([&](auto h) { rest.endpoint_get("PJSIP", "nobody", h); });
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().http_status, 404);

    auto app = sync<ari::Application>([&](auto h) { rest.application_get(config.app, h); });
    ASSERT_TRUE(app) << app.error().describe();
    EXPECT_EQ(app.value().name, config.app);

    // Only StasisStart/End allowed: a variable set on a live call then raises no ChannelVarset.
    nlohmann::json filter = {{"allowed", {{{"type", "StasisStart"}}, {{"type", "StasisEnd"}}}}};
    auto filtered = sync<ari::Application>(
        [&](auto h) { rest.application_set_event_filter(config.app, filter, h); });
    ASSERT_TRUE(filtered) << filtered.error().describe();
    EXPECT_EQ(filtered.value().events_allowed.size(), 2u) << filtered.value().raw.dump();

    Sipp call(lab, genesys("ari_genesys_call.xml", "1006", "ARILABFILTER"));
    auto start = stasis_start("1006", call);
    ASSERT_TRUE(sync<ari::NoContent>(
        [&](auto h) { rest.channel_set_variable(start.channel.id, "FILTERED", "1", h); }));
    EXPECT_FALSE(rec.next<ari::ChannelVarset>(
        [](const ari::ChannelVarset& e) { return e.variable == "FILTERED"; }, 1s));

    auto reset = sync<ari::Application>([&](auto h) {
        rest.application_set_event_filter(
            config.app,
            {{"allowed", nlohmann::json::array()}, {"disallowed", nlohmann::json::array()}}, h);
    });
    ASSERT_TRUE(reset) << reset.error().describe();
    EXPECT_TRUE(reset.value().events_allowed.empty()) << reset.value().raw.dump();
    ASSERT_TRUE(sync<ari::NoContent>(
        [&](auto h) { rest.channel_set_variable(start.channel.id, "FILTERED", "2", h); }));
    EXPECT_TRUE(rec.next<ari::ChannelVarset>(
        [](const ari::ChannelVarset& e) { return e.variable == "FILTERED"; }, 5s));
}

TEST_F(AriLab, SecondClientForTheAppGetsItAndTheFirstStopsWithoutFighting) {
    TaskThread worker2;
    Recorder rec2;
    ari::EventStream second(config, worker2.executor(), rec2.event_handler(), rec2.state_handler());
    second.start();
    ASSERT_TRUE(rec2.state(Kind::connected, 10s));
    auto replaced = rec.state(Kind::application_replaced, 5s);
    ASSERT_TRUE(replaced) << "first stream not told of ApplicationReplaced";
    EXPECT_TRUE(rec.next<ari::ApplicationReplaced>(1s));
    std::this_thread::sleep_for(2s);
    EXPECT_EQ(stream->stats().connects, 1u) << "the replaced stream must not reconnect";
    EXPECT_FALSE(rec2.state(Kind::disconnected, 100ms)) << "second stream was not disturbed";

    Sipp call(lab, genesys("ari_genesys_busy.xml", "1007", "ARILABREPLACED"));
    auto start = rec2.next<ari::StasisStart>(10s);
    ASSERT_TRUE(start) << "the new owner of the app gets the calls";
    ASSERT_TRUE(
        sync<ari::NoContent>([&](auto h) { rest.channel_hangup(start->channel.id, "busy", h); }));
    EXPECT_EQ(call.wait_success(10s), "");
}

TEST_F(AriLab, ReconnectsAfterAsteriskRestartAndWorksOnTheNextCall) {
    lab.restart();
    auto down = rec.state(Kind::disconnected, 20s);
    ASSERT_TRUE(down) << "no disconnected state";
    EXPECT_FALSE(down->reason.empty());
    EXPECT_EQ(down->reason.find(config.password), std::string::npos);
    auto back = rec.state(Kind::reconnected, 30s);
    ASSERT_TRUE(back) << "no reconnected state";
    EXPECT_GE(stream->stats().connects, 2u);

    auto info = sync<nlohmann::json>([&](auto h) { rest.asterisk_info(h); });
    ASSERT_TRUE(info) << info.error().describe();
    EXPECT_TRUE(info.value().contains("system"));
    Sipp call(lab, genesys("ari_genesys_busy.xml", "1008", "ARILABRESTART"));
    auto start = stasis_start("1008", call);
    ASSERT_FALSE(start.channel.id.empty());
    ASSERT_TRUE(
        sync<ari::NoContent>([&](auto h) { rest.channel_hangup(start.channel.id, "busy", h); }));
    EXPECT_EQ(call.wait_success(10s), "");
}

}  // namespace
