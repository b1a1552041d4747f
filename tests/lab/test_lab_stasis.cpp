// The lab end to end: a sipp "Genesys" call to DN 1002 enters the from-genesys context, and a
// WebSocket opened on /ari/events for the app receives StasisStart with the DN in args.
#include "lab_ari.hpp"
#include "lab_env.hpp"
#include "sipp.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>

namespace {

using talkgate::test::AriEvents;
using talkgate::test::LabEnv;
using talkgate::test::Sipp;
using namespace std::chrono_literals;

Sipp::Options genesys_call(const std::string& dn, const std::string& uuid,
                           std::chrono::seconds timeout) {
    Sipp::Options o;
    o.scenario = "genesys_notify_talk.xml";
    o.local_ip = LabEnv::get()["LAB_GENESYS_IP"];
    o.service = dn;
    o.timeout = timeout;
    o.extra = {"-set", "uuid", uuid};
    return o;
}

class LabTest : public ::testing::Test {
  protected:
    void TearDown() override { lab.reset(); }
    const LabEnv& lab = LabEnv::get();
};

TEST_F(LabTest, GenesysCallEntersStasisWithDnCallIdAndCallUuid) {
    AriEvents events(lab);
    ASSERT_TRUE(events.wait_open(5s)) << "ARI events WebSocket did not open";

    const std::string uuid = "UIVB8J6JE91C53UIM3VI59VHQ4LAB001";
    Sipp genesys(lab, genesys_call("1002", uuid, 20s));

    auto start = events.next("StasisStart", 10s);
    ASSERT_TRUE(start) << "no StasisStart within 10 s\n" << genesys.output();
    const auto& args = (*start)["args"];
    ASSERT_GE(args.size(), 3u) << start->dump();
    EXPECT_EQ(args[0], "1002");
    EXPECT_EQ(args[1], (*start)["channel"]["protocol_id"]) << "args[1] is the SIP Call-ID";
    EXPECT_EQ(args[2], uuid);
    EXPECT_EQ((*start)["channel"]["dialplan"]["context"], "from-genesys");
    EXPECT_EQ((*start)["application"], lab["LAB_ARI_APP"]);
}

TEST_F(LabTest, CallIsRejectedWhenNoAppIsConnected) {
    const auto log_offset = lab.log_size();
    Sipp genesys(lab, genesys_call("1002", "NOAPP", 10s));
    // The dialplan rejects at once (STASISSTATUS=FAILED): sipp sees a final error, not a hang.
    auto code = genesys.wait(8s);
    ASSERT_TRUE(code) << "Genesys got no final answer within 8 s\n" << genesys.output();
    EXPECT_NE(*code, 0);
    EXPECT_NE(lab.log_since(log_offset).find("not connected: rejecting call to 1002"),
              std::string::npos);
}

}  // namespace
