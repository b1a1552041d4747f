// The controller end to end against the lab whose Asterisk loads res_talkgate_notify: the module
// answers Genesys's NOTIFY with 200 OK and reports it as AMI UserEvent and ARI ChannelUserevent
// GenesysNotify, which the controller takes instead of (or beside) HEP. sipp plays Genesys
// (127.0.0.2) and the agents (127.0.0.3); a loopback fake plays the bridge API.
#include "controller_harness.hpp"

#include <array>
#include <optional>

namespace talkgate::test {
namespace {

constexpr std::array<const char*, 3> kSources = {"hep", "ami", "ari"};

class ControllerModuleLabTest : public ControllerLabTest {
  protected:
    void use_sources(bool hep, bool ami, bool ari) {
        config_.notify_sources.hep = hep;
        config_.notify_sources.ami = ami;
        config_.notify_sources.ari = ari;
    }

    std::uint64_t received(const char* event, const char* source) {
        return metrics_.notify_received.labels({event, source}).value();
    }

    std::uint64_t received_from_any(const char* event) {
        std::uint64_t n = 0;
        for (const char* s : kSources) n += received(event, s);
        return n;
    }

    std::uint64_t duplicates() {
        std::uint64_t n = 0;
        for (const char* s : kSources) n += metrics_.notify_duplicates.labels({s}).value();
        return n;
    }

    // Genesys calls DN 1002; the module must 200 NOTIFY talk (early dialog) and NOTIFY hold
    // (established call), talkgate must answer the agent on talk and pass hold on to it.
    void run_talk_then_hold_call(const std::string& uuid) {
        LabCall call(lab_, agent("1002", "ctlmod_agent_talk_then_hold.xml"),
                     genesys("1002", "ctlmod_genesys_talk_hold.xml", uuid, 2000));
        // Genesys: both NOTIFYs and the INVITE got 200; the agent: talk answered, hold, BYE.
        EXPECT_EQ(call.wait_success(20s, 10s), "") << call.output();
        ASSERT_TRUE(bridge_.wait_for("/genesys-call-notify", 2, 5s));
        std::vector<std::string> events;
        for (const auto& r : bridge_.requests()) {
            if (r.path != "/genesys-call-notify") continue;
            EXPECT_EQ(r.body["dn"], "1002");
            EXPECT_EQ(r.body["call_uuid"], uuid);
            EXPECT_FALSE(r.body["call_id"].get<std::string>().empty());
            events.push_back(r.body["event"].get<std::string>());
        }
        EXPECT_EQ(events, (std::vector<std::string>{"talk", "hold"}));
        EXPECT_EQ(bridge_requests("/answer/1002"), 1u);
        // One PJSIPNotify per Genesys NOTIFY: Event=talk, then Event=hold.
        EXPECT_TRUE(wait_until(
            [this] {
                return answers(metrics::AnswerPath::pjsip_notify, metrics::ActionOutcome::ok) == 2;
            },
            5s));
        EXPECT_EQ(received_from_any("talk"), 1u);
        EXPECT_EQ(received_from_any("hold"), 1u);
        expect_nothing_left();
    }
};

TEST_F(ControllerModuleLabTest, LabLoadsTheModuleAndKeepsHepOn) {
    EXPECT_EQ(lab_["LAB_HEP_ENABLED"], "yes");
    EXPECT_NE(lab_.cli("module show like res_talkgate_notify").find("Running"), std::string::npos)
        << lab_.cli("module show like res_talkgate_notify");
    EXPECT_NE(lab_.cli("module show like res_hep_pjsip").find("Running"), std::string::npos)
        << lab_.cli("module show like res_hep_pjsip");
}

TEST_F(ControllerModuleLabTest, AmiAndAriWithoutHepAnswerTalkAndPassHoldOn) {
    use_sources(false, true, true);
    start();
    EXPECT_EQ(controller_->hep_port(), 0u);  // no HEP listener at all
    run_talk_then_hold_call("UUID-CTLMOD-AMIARI");
    EXPECT_EQ(received("talk", "hep") + received("hold", "hep"), 0u);
    // AMI and ARI each report both NOTIFYs: the later of the two is dropped each time.
    EXPECT_TRUE(wait_until([this] { return duplicates() == 2; }, 5s)) << duplicates();
    EXPECT_EQ(metrics_.notify_duplicates.labels({"hep"}).value(), 0u);
}

TEST_F(ControllerModuleLabTest, ModuleAndHepTogetherActOncePerNotify) {
    use_sources(true, true, true);
    start();
    run_talk_then_hold_call("UUID-CTLMOD-ALL");
    // Each NOTIFY reaches talkgate three times (HEP, AMI, ARI); two of them are duplicates.
    EXPECT_TRUE(wait_until([this] { return duplicates() >= 4; }, 5s)) << duplicates();
    EXPECT_EQ(answers(metrics::AnswerPath::pjsip_notify, metrics::ActionOutcome::ok), 2u);
    EXPECT_EQ(answers(metrics::AnswerPath::bridge_answer, metrics::ActionOutcome::ok), 1u);
}

TEST_F(ControllerModuleLabTest, HepAloneStillWorksBesideTheModule) {
    use_sources(true, false, false);
    start();
    run_talk_then_hold_call("UUID-CTLMOD-HEP");
    EXPECT_EQ(received("talk", "hep"), 1u);
    EXPECT_EQ(received("hold", "hep"), 1u);
}

// Issue 11 regression through the module: Genesys's INVITE and NOTIFY carry an
// X-Genesys-CallUUID that is not UTF-8. The module once raised no event at all then (JSON
// cannot carry the bytes), after answering the NOTIFY 200, so the agent rang until 408; now it
// reports the NOTIFY with the CallUUID dropped. The call is answered, and the controller keeps
// serving (the status source lists no call afterwards).
TEST_F(ControllerModuleLabTest, NonUtf8CallUuidThroughAmiAndAriStopsNeitherTheCallNorTalkgate) {
    use_sources(false, true, true);
    start();
    {
        LabCall call(lab_, agent("1002", "agent_answer_on_notify.xml"),
                     genesys("1002", "genesys_notify_talk.xml", std::string("\xe9\xff", 2), 1000));
        EXPECT_EQ(call.wait_success(20s, 10s), "") << call.output();
    }
    EXPECT_GE(received("talk", "ami") + received("talk", "ari"), 1u);
    ASSERT_TRUE(bridge_.wait_for("/genesys-call-notify", 1, 5s));
    for (const auto& r : bridge_.requests()) {
        if (r.path == "/genesys-call-notify") {
            EXPECT_EQ(r.body["call_uuid"], "");
        }
    }
    EXPECT_EQ(answers(metrics::AnswerPath::pjsip_notify, metrics::ActionOutcome::ok), 1u);
    EXPECT_EQ(listed_calls(*controller_, 5s), std::optional<std::size_t>(0))
        << "nullopt: the io thread no longer answers";
    expect_nothing_left();
}

class ControllerModuleSingleSourceTest : public ControllerModuleLabTest,
                                         public ::testing::WithParamInterface<const char*> {};

TEST_P(ControllerModuleSingleSourceTest, OneModuleSourceAloneAnswersAndHolds) {
    const std::string source = GetParam();
    use_sources(false, source == "ami", source == "ari");
    start();
    run_talk_then_hold_call("UUID-CTLMOD-ONLY-" + source);
    EXPECT_EQ(received("talk", source.c_str()), 1u);
    EXPECT_EQ(received("hold", source.c_str()), 1u);
    EXPECT_EQ(duplicates(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Sources, ControllerModuleSingleSourceTest, ::testing::Values("ami", "ari"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                             return std::string(info.param);
                         });

}  // namespace
}  // namespace talkgate::test
