// Calls outlive the controller (stock Asterisk, NOTIFYs through HEP): talkgate is SIGKILLed or
// SIGTERMed while the agent rings, while the call is connected and while it is held, and
// started again; the new process adopts the call and every later step works on it.
#include "restart_harness.hpp"

namespace talkgate::test {
namespace {

class RestartHepLabTest : public RestartLabTest {
  protected:
    void SetUp() override { configure(true); }
};

TEST_F(RestartHepLabTest, KilledWhileTheAgentRingsTheRetransmittedNotifyTalkAnswers) {
    start();
    const std::string uuid = "UUID-RESTART-RING-" + random_token(6);
    LabCall call(lab_, agent("1002", "agent_answer_on_notify.xml"),
                 genesys("1002", "restart_genesys_notify_retransmitted.xml", uuid, 1000));
    json before = wait_call("1002", "ringing");
    ASSERT_TRUE(before.is_object()) << "the agent never rang";
    kill();
    // Genesys sends its NOTIFY talk 3 s after the 180: let it hit no talkgate at all.
    std::this_thread::sleep_for(3500ms);
    start();

    json adopted = wait_call("1002", "ringing", 5s);
    ASSERT_TRUE(adopted.is_object()) << "the ringing call was not adopted";
    EXPECT_EQ(adopted["id"], before["id"]);
    EXPECT_EQ(adopted["call_id"], before["call_id"]);
    EXPECT_EQ(adopted["call_uuid"], uuid);
    EXPECT_EQ(adopted["agent_channel"], before["agent_channel"]);
    EXPECT_EQ(repairs("adopted_ringing"), 1);

    EXPECT_EQ(call.wait_success(40s, 40s), "");
    EXPECT_TRUE(wait_until([&] { return call_of("1002").is_null(); }, 10s));
    EXPECT_EQ(all_logs().find("that no call owns"), std::string::npos);
}

TEST_F(RestartHepLabTest, KilledWhileConnectedTheCallGoesOnAndGenesysByeEndsBothLegs) {
    start();
    const std::string uuid = "UUID-RESTART-UP-" + random_token(6);
    LabCall call(lab_, agent("1002", "agent_answer_on_notify.xml"),
                 genesys("1002", "genesys_notify_talk.xml", uuid, 10000));
    json before = wait_call("1002", "connected");
    ASSERT_TRUE(before.is_object()) << "the call never connected";
    kill();
    std::this_thread::sleep_for(1000ms);
    start();

    json adopted = wait_call("1002", "connected", 5s);
    ASSERT_TRUE(adopted.is_object()) << "the connected call was not adopted";
    EXPECT_EQ(adopted["id"], before["id"]);
    EXPECT_EQ(adopted["call_uuid"], uuid);
    EXPECT_EQ(adopted["bridge"], before["bridge"]);
    EXPECT_EQ(adopted["genesys_channel"], before["genesys_channel"]);
    EXPECT_EQ(adopted["agent_channel"], before["agent_channel"]);
    EXPECT_EQ(repairs("adopted_connected"), 1);
    // Both legs still up in Asterisk, in their bridge.
    auto bridge = ari("/bridges/" + before["bridge"].get<std::string>());
    EXPECT_EQ(bridge.status, 200);
    EXPECT_EQ(bridge.body["channels"].size(), 2u) << bridge.text;

    // Genesys hangs up: the adopted call hangs up the agent (its sipp expects that BYE).
    EXPECT_EQ(call.wait_success(40s, 20s), "");
    EXPECT_TRUE(wait_until([&] { return call_of("1002").is_null(); }, 10s));
    EXPECT_TRUE(wait_until(
        [&] { return ari("/bridges/" + before["bridge"].get<std::string>()).status == 404; }, 10s))
        << "the bridge outlived the call";
}

TEST_F(RestartHepLabTest, SigtermLeavesTheCallUpAndAfterRestartTheAgentByeEndsBothLegs) {
    start();
    const std::string uuid = "UUID-RESTART-TERM-" + random_token(6);
    LabCall call(lab_, agent("1002", "agent_answer_then_bye.xml", {"-d", "10000"}),
                 genesys("1002", "genesys_notify_talk_remote_bye.xml", uuid, 1000));
    json before = wait_call("1002", "connected");
    ASSERT_TRUE(before.is_object()) << "the call never connected";

    const auto t0 = std::chrono::steady_clock::now();
    std::string how = process_->stop(20s);
    const auto took = std::chrono::steady_clock::now() - t0;
    std::cout << "talkgate stopped on SIGTERM in "
              << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms\n";
    EXPECT_EQ(how, "exit 0");
    EXPECT_NE(process_->log().find("stay up in Asterisk"), std::string::npos);
    // Nothing was hung up: both legs are there, still bridged.
    auto bridge = ari("/bridges/" + before["bridge"].get<std::string>());
    EXPECT_EQ(bridge.body["channels"].size(), 2u) << bridge.text;

    start();
    json adopted = wait_call("1002", "connected", 5s);
    ASSERT_TRUE(adopted.is_object()) << "the connected call was not adopted";
    EXPECT_EQ(adopted["call_uuid"], uuid);

    // The agent hangs up (sipp -d): Genesys gets the BYE through the adopted call.
    EXPECT_EQ(call.agent.wait_success(40s), "");
    EXPECT_EQ(call.genesys.wait_success(20s), "");
    EXPECT_TRUE(wait_until([&] { return call_of("1002").is_null(); }, 10s));
}

TEST_F(RestartHepLabTest, KilledWhileHeldNotifyTalkRetrievesTheAdoptedCall) {
    start();
    const std::string uuid = "UUID-RESTART-HOLD-" + random_token(6);
    LabCall call(lab_, agent("1002", "agent_hold_retrieve.xml"),
                 genesys("1002", "restart_genesys_hold_then_talk.xml", uuid, 1000));
    json before = wait_call("1002", "held");
    ASSERT_TRUE(before.is_object()) << "the call was never held";
    const std::string genesys_leg = before["genesys_channel"];
    // The hold is kept in Asterisk, where the next talkgate finds it.
    EXPECT_TRUE(wait_until([&] { return channel_var(genesys_leg, "TALKGATE_HELD") == "1"; }, 5s));
    kill();
    std::this_thread::sleep_for(1000ms);
    start();

    json adopted = wait_call("1002", "held", 4s);
    ASSERT_TRUE(adopted.is_object()) << "the held call was not adopted as held";
    EXPECT_EQ(adopted["call_uuid"], uuid);
    EXPECT_EQ(repairs("adopted_held"), 1);

    // Genesys's NOTIFY talk: the agent gets NOTIFY talk and retrieves (its sipp checks it).
    EXPECT_EQ(call.agent.wait_success(40s), "");
    EXPECT_EQ(call.genesys.wait_success(20s), "");
    EXPECT_TRUE(wait_until([&] { return call_of("1002").is_null(); }, 10s));
}

}  // namespace
}  // namespace talkgate::test
