// Active/standby with the real executables: gateway A (stock lab, NOTIFYs over HEP) has two
// talkgates sharing a lease in a real redis-server, gateway B (module lab) one. The active one
// of A is SIGKILLed while a call rings and while one is connected: the standby takes the lease,
// connects to ARI and HEP and adopts the calls; Redis itself is killed and restarted: nothing
// is dropped and nobody changes role.
#include "failover_harness.hpp"

#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <thread>

namespace talkgate::test {
namespace {

class FailoverLabTest : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_NE(s_.lab_b["LAB_MODULE"], "") << "gateway B's lab does not load the module";
        const auto error = s_.start_all();
        ASSERT_EQ(error, "") << s_.all_logs();
        ASSERT_EQ(s_.first->role(), "active");
        ASSERT_EQ(s_.other->role(), "active");
        auto standby = s_.second->get("/ready");
        EXPECT_EQ(standby.status, 200) << "a standby is ready: " << standby.text;
        EXPECT_EQ(standby.body["redis"]["up"], true);
        EXPECT_EQ(standby.body["ari"]["up"], false) << "a standby keeps off the ARI app";
        EXPECT_NE(s_.lease_a(), "") << "no lease for gateway A in Redis";
    }

    void TearDown() override {
        for (auto* c : {s_.first.get(), s_.second.get(), s_.other.get()})
            for (const char* key : {"ARI_PASSWORD", "ASTERISK_AMI_SECRET", "STATUS_TOKEN"})
                EXPECT_EQ(c->log().find(c->settings().at(key)), std::string::npos)
                    << key << " in " << c->name() << "'s log";
        for (auto* c : {s_.first.get(), s_.second.get(), s_.other.get()})
            EXPECT_EQ(c->log().find(s_.redis.password()), std::string::npos)
                << "the Redis password in " << c->name() << "'s log";
        if (HasFailure()) std::cerr << s_.all_logs() << '\n';
    }

    // A call on gateway B through its own talkgate: the other gateway is not disturbed.
    void call_on_gateway_b(const std::string& uuid) {
        LabCall call(s_.lab_b, s_.agent(s_.lab_b, "1003", "agent_answer_on_notify.xml"),
                     s_.genesys(s_.lab_b, "1003", "genesys_notify_talk.xml", uuid, 500));
        EXPECT_EQ(call.wait_success(30s, 20s), "") << "gateway B";
    }

    void next_call_is_answered_by(Controller& c, const std::string& uuid) {
        LabCall call(s_.lab_a, s_.agent(s_.lab_a, "1002", "agent_answer_on_notify.xml"),
                     s_.genesys(s_.lab_a, "1002", "genesys_notify_talk.xml", uuid, 1000));
        json seen = c.wait_call("1002", "connected", 15s);
        EXPECT_TRUE(seen.is_object()) << c.name() << " never showed the call connected";
        EXPECT_EQ(call.wait_success(30s, 20s), "") << call.output();
    }

    FailoverSetup s_;
};

TEST_F(FailoverLabTest,
       ActiveKilledWhileTheAgentRingsTheStandbyAdoptsAndTheRetransmittedNotifyAnswers) {
    const std::string uuid = "UUID-FAILOVER-RING-" + random_token(6);
    LabCall call(
        s_.lab_a, s_.agent(s_.lab_a, "1002", "agent_answer_on_notify.xml"),
        s_.genesys(s_.lab_a, "1002", "restart_genesys_notify_retransmitted.xml", uuid, 1000));
    json before = s_.first->wait_call("1002", "ringing");
    ASSERT_TRUE(before.is_object()) << "the agent never rang";
    const std::string lease_before = s_.lease_a();
    s_.first->kill();

    // The lease expires, the standby takes it, connects ARI (resync adopts) and binds HEP.
    ASSERT_TRUE(wait_until([&] { return s_.second->serving(); }, 15s)) << "no takeover";
    EXPECT_NE(s_.lease_a(), lease_before);
    json adopted = s_.second->wait_call("1002", "ringing", 5s);
    ASSERT_TRUE(adopted.is_object()) << "the ringing call was not adopted";
    EXPECT_EQ(adopted["id"], before["id"]);
    EXPECT_EQ(adopted["call_uuid"], uuid);
    EXPECT_EQ(s_.second->metric("talkgate_resync_repairs_total", {{"action", "adopted_ringing"}}),
              1);
    EXPECT_EQ(s_.second->metric("talkgate_lease_active"), 1);

    // Genesys retransmits its NOTIFY talk for 32 s: one reaches the new active over HEP.
    EXPECT_EQ(call.wait_success(40s, 40s), "") << call.output();
    EXPECT_GE(
        s_.second->metric("talkgate_notify_received_total", {{"event", "talk"}, {"source", "hep"}}),
        1);
    EXPECT_TRUE(wait_until([&] { return s_.second->call_of("1002").is_null(); }, 10s));

    next_call_is_answered_by(*s_.second, "UUID-FAILOVER-NEXT-" + random_token(6));
    // The killed one comes back, and stays standby.
    s_.first->start();
    EXPECT_TRUE(wait_until([&] { return s_.first->role() == "standby"; }, 10s));
    std::this_thread::sleep_for(5s);
    EXPECT_EQ(s_.first->role(), "standby");
    EXPECT_TRUE(s_.second->serving());
    EXPECT_TRUE(s_.other->serving()) << "gateway B's talkgate was disturbed";
}

TEST_F(FailoverLabTest, ActiveKilledWhileConnectedTheCallGoesOnAndGenesysByeEndsBothLegs) {
    const std::string uuid = "UUID-FAILOVER-UP-" + random_token(6);
    LabCall call(s_.lab_a, s_.agent(s_.lab_a, "1002", "agent_answer_on_notify.xml"),
                 s_.genesys(s_.lab_a, "1002", "genesys_notify_talk.xml", uuid, 12000));
    json before = s_.first->wait_call("1002", "connected");
    ASSERT_TRUE(before.is_object()) << "the call never connected";
    s_.first->kill();

    ASSERT_TRUE(wait_until([&] { return s_.second->serving(); }, 15s)) << "no takeover";
    json adopted = s_.second->wait_call("1002", "connected", 5s);
    ASSERT_TRUE(adopted.is_object()) << "the connected call was not adopted";
    EXPECT_EQ(adopted["id"], before["id"]);
    EXPECT_EQ(adopted["bridge"], before["bridge"]);
    EXPECT_EQ(s_.second->metric("talkgate_resync_repairs_total", {{"action", "adopted_connected"}}),
              1);
    // Genesys's BYE after 12 s: the new active hangs up the agent (its sipp expects the BYE).
    EXPECT_EQ(call.wait_success(40s, 20s), "") << call.output();
    EXPECT_TRUE(wait_until([&] { return s_.second->call_of("1002").is_null(); }, 10s));
    EXPECT_TRUE(wait_until(
        [&] {
            return s_.second->metric("talkgate_calls_total", {{"outcome", "genesys_hangup"}}) == 1;
        },
        5s));

    next_call_is_answered_by(*s_.second, "UUID-FAILOVER-NEXT2-" + random_token(6));
    call_on_gateway_b("UUID-FAILOVER-B-" + random_token(6));
}

TEST_F(FailoverLabTest, RedisKilledAndRestartedDropsNothingAndNobodyChangesRole) {
    const std::string uuid = "UUID-REDIS-DOWN-" + random_token(6);
    LabCall long_call(s_.lab_a, s_.agent(s_.lab_a, "1002", "agent_answer_on_notify.xml"),
                      s_.genesys(s_.lab_a, "1002", "genesys_notify_talk.xml", uuid, 25000));
    ASSERT_TRUE(s_.first->wait_call("1002", "connected").is_object());

    s_.redis.kill();
    ASSERT_TRUE(wait_until(
        [&] {
            auto r = s_.first->ready();
            return r.is_object() && r["redis"]["up"] == false;
        },
        5s));
    // Well past the lease's ttl: the active serves alone, the standby waits.
    std::this_thread::sleep_for(6s);
    auto alone = s_.first->get("/ready");
    EXPECT_EQ(alone.status, 200) << alone.text;
    EXPECT_EQ(alone.body["role"], "active");
    EXPECT_EQ(s_.second->role(), "standby");
    EXPECT_GE(s_.first->metric("talkgate_redis_errors_total", {{"reason", "closed"}}), 1);
    EXPECT_EQ(s_.first->metric("talkgate_connection_up", {{"peer", "redis"}}), 0);
    // Calls on both gateways go on meanwhile.
    call_on_gateway_b("UUID-REDIS-DOWN-B-" + random_token(6));

    ASSERT_TRUE(s_.redis.start());  // empty, as after a crash without persistence
    ASSERT_TRUE(wait_until(
        [&] {
            auto r = s_.first->ready();
            return r.is_object() && r["redis"]["up"] == true && s_.lease_a() != "";
        },
        10s));
    std::this_thread::sleep_for(9s);  // more than two ttl: the standby had every chance
    EXPECT_TRUE(s_.first->serving());
    EXPECT_EQ(s_.second->role(), "standby");
    EXPECT_TRUE(s_.other->serving());
    EXPECT_EQ(s_.first->metric("talkgate_reconnects_total", {{"peer", "redis"}}), 1);
    EXPECT_EQ(s_.first->metric("talkgate_connection_up", {{"peer", "redis"}}), 1);

    EXPECT_EQ(long_call.wait_success(40s, 20s), "") << long_call.output();
    EXPECT_TRUE(wait_until([&] { return s_.first->call_of("1002").is_null(); }, 10s));
    next_call_is_answered_by(*s_.first, "UUID-REDIS-BACK-" + random_token(6));
    EXPECT_TRUE(wait_until(
        [&] {
            return s_.first->metric("talkgate_calls_total", {{"outcome", "genesys_hangup"}}) == 2;
        },
        5s));
}

TEST_F(FailoverLabTest, EveryTalkgateAnswersForEveryGatewaysCalls) {
    const std::string uuid_a = "UUID-SCOPE-A-" + random_token(6);
    const std::string uuid_b = "UUID-SCOPE-B-" + random_token(6);
    LabCall on_a(s_.lab_a, s_.agent(s_.lab_a, "1002", "agent_answer_on_notify.xml"),
                 s_.genesys(s_.lab_a, "1002", "genesys_notify_talk.xml", uuid_a, 8000));
    LabCall on_b(s_.lab_b, s_.agent(s_.lab_b, "1003", "agent_answer_on_notify.xml"),
                 s_.genesys(s_.lab_b, "1003", "genesys_notify_talk.xml", uuid_b, 8000));
    ASSERT_TRUE(s_.first->wait_call("1002", "connected").is_object());
    ASSERT_TRUE(s_.other->wait_call("1003", "connected").is_object());

    // Each active publishes once a second; the standby of A reads both from Redis.
    json all;
    EXPECT_TRUE(wait_until(
        [&] {
            all = s_.second->get("/calls?scope=all").body;
            return all.is_object() && all["count"] == 2;
        },
        5s))
        << all.dump();
    std::map<std::string, std::string> gateway_of;
    for (const auto& c : all["calls"]) gateway_of[c["call_uuid"]] = c.value("gateway", "");
    EXPECT_EQ(gateway_of[uuid_a], "talkgate@gw-a");
    EXPECT_EQ(gateway_of[uuid_b], "talkgate@gw-b");
    EXPECT_EQ(s_.second->get("/calls").body["count"], 0) << "a standby has no calls of its own";

    // A's active finds B's call by DN, and only with scope=all.
    auto of_dn = s_.first->get("/calls/1003?scope=all");
    ASSERT_EQ(of_dn.status, 200) << of_dn.text;
    ASSERT_EQ(of_dn.body["count"], 1) << of_dn.text;
    EXPECT_EQ(of_dn.body["calls"][0]["call_uuid"], uuid_b);
    EXPECT_EQ(of_dn.body["calls"][0]["gateway"], "talkgate@gw-b");
    EXPECT_EQ(s_.first->get("/calls/1003").body["count"], 0);
    EXPECT_EQ(s_.other->get("/calls?scope=all&call_uuid=" + uuid_a).body["count"], 1);

    EXPECT_EQ(on_a.wait_success(30s, 20s), "") << on_a.output();
    EXPECT_EQ(on_b.wait_success(30s, 20s), "") << on_b.output();
    EXPECT_TRUE(
        wait_until([&] { return s_.second->get("/calls?scope=all").body["count"] == 0; }, 5s));
}

}  // namespace
}  // namespace talkgate::test
