// Calls outlive the controller with the module (res_talkgate_notify): the module answers
// Genesys's NOTIFY with 200 OK, so Genesys never sends it again; a NOTIFY that came while
// talkgate was away is found on the Genesys leg, where the module recorded it.
#include "restart_harness.hpp"

namespace talkgate::test {
namespace {

class RestartModuleLabTest : public RestartLabTest {
  protected:
    void SetUp() override { configure(false); }
};

TEST_F(RestartModuleLabTest, KilledWhileTheAgentRingsANotifyTalkAnsweredMeanwhileAnswers) {
    ASSERT_NE(lab_["LAB_MODULE"], "") << "this lab does not load the module";
    start();
    const std::string uuid = "UUID-RESTART-MOD-" + random_token(6);
    LabCall call(lab_, agent("1002", "agent_answer_on_notify.xml"),
                 genesys("1002", "restart_module_genesys_notify_while_away.xml", uuid, 1000));
    json before = wait_call("1002", "ringing");
    ASSERT_TRUE(before.is_object()) << "the agent never rang";
    const std::string genesys_leg = before["genesys_channel"];
    kill();
    // Genesys sends its NOTIFY talk 3 s after the 180; the module answers and records it.
    EXPECT_TRUE(
        wait_until([&] { return channel_var(genesys_leg, "GENESYS_NOTIFY_EVENT") == "talk"; }, 8s));
    EXPECT_EQ(channel_var(genesys_leg, "GENESYS_CALL_UUID"), uuid);
    start();

    EXPECT_EQ(call.wait_success(30s, 20s), "");
    EXPECT_EQ(repairs("adopted_ringing"), 1);
    EXPECT_NE(all_logs().find("NOTIFY talk recorded on the Genesys leg"), std::string::npos);
    EXPECT_TRUE(wait_until([&] { return call_of("1002").is_null(); }, 10s));
}

}  // namespace
}  // namespace talkgate::test
