// res_talkgate_notify in the real Asterisk lab (the module lab fixture loads it at boot): sipp
// plays Genesys; the test plays the Stasis app (rings and answers the Genesys leg over ARI)
// and watches AMI and ARI for the GenesysNotify user event.
#include "lab_env.hpp"
#include "module_ami_listener.hpp"
#include "module_ari_app.hpp"
#include "polling.hpp"
#include "sipp.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

namespace {

using talkgate::test::ami_value;
using talkgate::test::AmiListener;
using talkgate::test::AmiMessage;
using talkgate::test::AriApp;
using talkgate::test::LabEnv;
using talkgate::test::Sipp;
using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kDn = "1002";
constexpr const char* kModule = "res_talkgate_notify.so";

std::string str(const json& j, const std::string& key) {
    if (!j.is_object()) return {};
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Sipp::Options genesys(const std::string& scenario, const std::string& uuid,
                      std::vector<std::string> extra = {}) {
    Sipp::Options o;
    o.scenario = scenario;
    o.local_ip = LabEnv::get()["LAB_GENESYS_IP"];
    o.service = kDn;
    o.timeout = 30s;
    o.extra = {"-set", "uuid", uuid};
    o.extra.insert(o.extra.end(), extra.begin(), extra.end());
    return o;
}

AmiListener::Predicate ami_notify(const std::string& uuid, const std::string& event) {
    return [uuid, event](const AmiMessage& m) {
        return ami_value(m, "Event") == "UserEvent" &&
               ami_value(m, "UserEvent") == "GenesysNotify" && ami_value(m, "CallUUID") == uuid &&
               ami_value(m, "NotifyEvent") == event;
    };
}

AmiListener::Predicate ami_notify_in_call(const std::string& call_id, const std::string& event) {
    return [call_id, event](const AmiMessage& m) {
        return ami_value(m, "UserEvent") == "GenesysNotify" && ami_value(m, "CallID") == call_id &&
               ami_value(m, "NotifyEvent") == event;
    };
}

AriApp::Predicate ari_notify(const std::string& uuid, const std::string& event) {
    return [uuid, event](const json& e) {
        const json& u = e.contains("userevent") ? e["userevent"] : json();
        return str(e, "type") == "ChannelUserevent" && str(e, "eventname") == "GenesysNotify" &&
               str(u, "CallUUID") == uuid && str(u, "NotifyEvent") == event;
    };
}

AriApp::Predicate stasis_start(const std::string& uuid) {
    return [uuid](const json& e) {
        return str(e, "type") == "StasisStart" && e.contains("args") && e["args"].is_array() &&
               e["args"].size() >= 3 && e["args"][2] == uuid;
    };
}

// The lines of LOG stamped no later than BOOTED_AT ("YYYY-mm-ddTHH:MM:SS.mmm", lab.sh's record of
// the lab's boot end); Asterisk stamps its lines "[YYYY-mm-dd HH:MM:SS.mmm]".
std::string boot_log(const std::string& log, std::string booted_at) {
    if (booted_at.size() > 10 && booted_at[10] == 'T') booted_at[10] = ' ';
    std::istringstream lines(log);
    std::string kept;
    for (std::string line; std::getline(lines, line);) {
        if (line.size() > booted_at.size() && line[0] == '[' &&
            line.compare(1, booted_at.size(), booted_at) > 0)
            break;
        kept += line + "\n";
    }
    return kept;
}

// Warning and error lines of the Asterisk log, minus those containing `expected`.
std::string log_problems(const std::string& log, const std::string& expected = {}) {
    std::istringstream in(log);
    std::string line;
    std::string out;
    while (std::getline(in, line)) {
        const bool bad =
            line.find("WARNING[") != std::string::npos || line.find("ERROR[") != std::string::npos;
        if (bad && (expected.empty() || line.find(expected) == std::string::npos))
            out += line + "\n";
    }
    return out;
}

class ModuleTest : public ::testing::Test {
  protected:
    void SetUp() override { log_offset_ = lab.log_size(); }
    void TearDown() override { lab.reset(); }

    // The Genesys leg's StasisStart for `uuid`; rings it so that Genesys gets 180 (early dialog).
    json start_and_ring(AriApp& ari, const std::string& uuid, Sipp& sipp) {
        auto start = ari.wait_for(stasis_start(uuid), 10s);
        if (!start) {
            ADD_FAILURE() << "no StasisStart for " << uuid << " within 10 s\n" << sipp.output();
            return json();
        }
        const std::string id = str((*start)["channel"], "id");
        EXPECT_EQ(ari.post("/channels/" + id + "/ring"), 204);
        return (*start)["channel"];
    }

    // The module's use count from `module show like` (-1 when not listed as running).
    int module_use_count() {
        // A row: "res_talkgate_notify.so  <description>  <use count>  Running ...".
        std::istringstream rows(lab.cli(std::string("module show like ") + kModule));
        for (std::string row; std::getline(rows, row);) {
            if (row.rfind("res_talkgate_notify.so ", 0) != 0) continue;
            std::istringstream words(row);
            std::string previous, word;
            while (words >> word) {
                if (word == "Running" && !previous.empty() &&
                    previous.find_first_not_of("0123456789") == std::string::npos)
                    return std::stoi(previous);
                previous = word;
            }
        }
        return -1;
    }

    const LabEnv& lab = LabEnv::get();
    std::size_t log_offset_ = 0;
};

TEST_F(ModuleTest, ModuleIsLoadedAtBootWithoutWarnings) {
    const std::string shown = lab.cli(std::string("module show like ") + kModule);
    EXPECT_NE(shown.find("Running"), std::string::npos) << shown;
    EXPECT_NE(shown.find("1 modules loaded"), std::string::npos) << shown;
    // The log of this lab's boot: a module built for another Asterisk warns here. The lab is
    // shared, so what other tests made it log (in any order) is left out.
    const std::string boot = boot_log(lab.log_since(0), lab["LAB_BOOTED_AT"]);
    EXPECT_NE(boot.find("modules will be loaded"), std::string::npos) << boot;
    EXPECT_EQ(log_problems(boot), "");
}

TEST_F(ModuleTest, ReloadUnloadAndLoadUnderLiveCallKeepAsteriskUp) {
    AriApp ari(lab);
    AmiListener ami(lab);
    const std::string uuid = "MODULELIVE0001";
    // A call with 4 s of talk time between NOTIFY talk and NOTIFY hold, over TCP: there pjsip
    // ends transactions at once, so the session (and its module reference) goes with the call
    // instead of lingering for UDP's 32 s Timer J.
    auto options = genesys("module_genesys_talk_hold.xml", uuid, {"-d", "4000"});
    options.transport = "t1";
    Sipp sipp(lab, options);

    json channel = start_and_ring(ari, uuid, sipp);
    ASSERT_FALSE(channel.is_null());
    ASSERT_TRUE(ami.wait_for(ami_notify(uuid, "talk"), 10s)) << sipp.output();
    EXPECT_EQ(ari.post("/channels/" + str(channel, "id") + "/answer"), 204);

    // Under the live call: reload re-reads the configuration; a soft unload is refused, as
    // the live session holds a reference on the module (its copied supplement), and so is a
    // forced one, by the module itself.
    const std::string reloaded = lab.cli(std::string("module reload ") + kModule);
    EXPECT_EQ(reloaded.find("not found"), std::string::npos) << reloaded;
    lab.cli(std::string("module unload ") + kModule);
    lab.cli(std::string("module unload -f ") + kModule);
    EXPECT_NE(lab.cli("core show uptime").find("System uptime"), std::string::npos);
    EXPECT_NE(lab.cli(std::string("module show like ") + kModule).find("Running"),
              std::string::npos);

    // The live call's NOTIFY hold is still answered.
    EXPECT_TRUE(ami.wait_for(ami_notify(uuid, "hold"), 10s)) << sipp.output();
    EXPECT_EQ(sipp.wait_success(15s), "");
    lab.reset();

    // With no session left the module unloads. Sessions end with their calls over TCP, but
    // those of earlier UDP calls live on for Timer J (32 s) after their last NOTIFY.
    int in_use = -1;
    talkgate::test::wait_until([&] { return (in_use = module_use_count()) <= 0; }, 45s, 500ms);
    ASSERT_EQ(in_use, 0) << "sessions still hold the module 45 s after the last call";
    const std::string unloaded = lab.cli(std::string("module unload ") + kModule);
    EXPECT_NE(unloaded.find("Unloaded"), std::string::npos) << unloaded;
    EXPECT_NE(lab.cli(std::string("module show like ") + kModule).find("0 modules loaded"),
              std::string::npos);

    // Loaded again, it answers the next call's NOTIFYs.
    lab.cli(std::string("module load ") + kModule);
    EXPECT_NE(lab.cli(std::string("module show like ") + kModule).find("Running"),
              std::string::npos);
    const std::string uuid2 = "MODULELIVE0002";
    auto options2 = genesys("module_genesys_talk_hold.xml", uuid2, {"-d", "200"});
    options2.transport = "t1";
    Sipp again(lab, options2);
    json channel2 = start_and_ring(ari, uuid2, again);
    ASSERT_FALSE(channel2.is_null());
    ASSERT_TRUE(ami.wait_for(ami_notify(uuid2, "talk"), 10s)) << again.output();
    EXPECT_EQ(ari.post("/channels/" + str(channel2, "id") + "/answer"), 204);
    EXPECT_EQ(again.wait_success(15s), "");

    // The refused soft unload is the one expected warning.
    EXPECT_EQ(log_problems(lab.log_since(log_offset_), "res_talkgate_notify"), "");
}

TEST_F(ModuleTest, NotifyTalkInEarlyDialogAndHoldWhenUpGet200AndUserEvents) {
    AriApp ari(lab);
    AmiListener ami(lab);
    const std::string uuid = "MODULETALKHOLD0001";
    Sipp sipp(lab, genesys("module_genesys_talk_hold.xml", uuid, {"-d", "300"}));

    json channel = start_and_ring(ari, uuid, sipp);
    ASSERT_FALSE(channel.is_null());
    const std::string id = str(channel, "id");

    auto talk = ami.wait_for(ami_notify(uuid, "talk"), 10s);
    ASSERT_TRUE(talk) << "no AMI GenesysNotify talk\n" << sipp.output();
    EXPECT_EQ(ami_value(*talk, "CallID"), str(channel, "protocol_id"));
    EXPECT_EQ(ami_value(*talk, "DN"), kDn);
    EXPECT_EQ(ami_value(*talk, "CSeq"), "2");
    EXPECT_EQ(ami_value(*talk, "Uniqueid"), id);
    auto talk_ari = ari.wait_for(ari_notify(uuid, "talk"), 5s);
    ASSERT_TRUE(talk_ari) << "no ARI ChannelUserevent GenesysNotify talk";
    EXPECT_EQ(str((*talk_ari)["channel"], "id"), id);
    EXPECT_EQ(str((*talk_ari)["userevent"], "CallID"), str(channel, "protocol_id"));
    EXPECT_EQ(str((*talk_ari)["userevent"], "DN"), kDn);
    EXPECT_EQ(str((*talk_ari)["userevent"], "CSeq"), "2");

    // What talkgate does on NOTIFY talk, in short: answer the Genesys leg.
    EXPECT_EQ(ari.post("/channels/" + id + "/answer"), 204);

    auto hold = ami.wait_for(ami_notify(uuid, "hold"), 10s);
    ASSERT_TRUE(hold) << "no AMI GenesysNotify hold\n" << sipp.output();
    EXPECT_EQ(ami_value(*hold, "CSeq"), "3");
    EXPECT_EQ(ami_value(*hold, "CallID"), str(channel, "protocol_id"));
    EXPECT_TRUE(ari.wait_for(ari_notify(uuid, "hold"), 5s)) << "no ARI ChannelUserevent hold";

    // sipp insists on 200 OK to both NOTIFYs.
    EXPECT_EQ(sipp.wait_success(15s), "");
    EXPECT_EQ(log_problems(lab.log_since(log_offset_)), "");
}

TEST_F(ModuleTest, RetransmittedNotifyGets200AndYieldsOneEvent) {
    AriApp ari(lab);
    AmiListener ami(lab);
    const std::string uuid = "MODULERETRANS0001";
    Sipp sipp(lab, genesys("module_genesys_notify_retrans.xml", uuid));

    json channel = start_and_ring(ari, uuid, sipp);
    ASSERT_FALSE(channel.is_null());
    ASSERT_TRUE(ami.wait_for(ami_notify(uuid, "talk"), 10s)) << sipp.output();
    EXPECT_EQ(ari.post("/channels/" + str(channel, "id") + "/answer"), 204);
    // sipp sent the NOTIFY twice and insists on a 200 for each.
    ASSERT_EQ(sipp.wait_success(15s), "");

    // Events travel through stasis asynchronously: give a duplicate time to show up.
    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(ami.count(ami_notify(uuid, "talk")), 1u);
    EXPECT_EQ(ari.count(ari_notify(uuid, "talk")), 1u);
    EXPECT_EQ(log_problems(lab.log_since(log_offset_)), "");
}

TEST_F(ModuleTest, OtherEventPackageKeepsStockBehaviour) {
    AriApp ari(lab);
    AmiListener ami(lab);
    const std::string uuid = "MODULEOTHER0001";
    Sipp sipp(lab, genesys("module_genesys_other_event.xml", uuid, {"-set", "other", "dialog"}));

    json channel = start_and_ring(ari, uuid, sipp);
    ASSERT_FALSE(channel.is_null());
    // sipp fails the call if NOTIFY Event: dialog gets any response within 2 s, then sends
    // NOTIFY talk, which must still be answered.
    ASSERT_TRUE(ami.wait_for(ami_notify(uuid, "talk"), 10s)) << sipp.output();
    EXPECT_EQ(ari.post("/channels/" + str(channel, "id") + "/answer"), 204);
    EXPECT_EQ(sipp.wait_success(15s), "");

    EXPECT_EQ(ami.count(ami_notify(uuid, "dialog")), 0u);
    EXPECT_EQ(ari.count(ari_notify(uuid, "dialog")), 0u);
    EXPECT_EQ(ami.count(ami_notify(uuid, "talk")), 1u);
}

TEST_F(ModuleTest, CompactEventHeaderAndMissingCallUuidStillGet200AndEvents) {
    AriApp ari(lab);
    AmiListener ami(lab);
    const std::string uuid = "MODULESPARSE0001";
    Sipp sipp(lab, genesys("module_genesys_sparse_notify.xml", uuid, {"-d", "200"}));

    json channel = start_and_ring(ari, uuid, sipp);
    ASSERT_FALSE(channel.is_null());
    const std::string call_id = str(channel, "protocol_id");
    // "o: Talk;id=7": the compact header, a parameter, and the package reported in lower case.
    auto talk = ami.wait_for(ami_notify_in_call(call_id, "talk"), 10s);
    ASSERT_TRUE(talk) << "no AMI GenesysNotify talk\n" << sipp.output();
    EXPECT_EQ(ami_value(*talk, "CallUUID"), "");
    EXPECT_EQ(ami_value(*talk, "DN"), kDn);
    EXPECT_EQ(ami_value(*talk, "CSeq"), "2");
    EXPECT_EQ(ari.post("/channels/" + str(channel, "id") + "/answer"), 204);
    EXPECT_TRUE(ami.wait_for(ami_notify_in_call(call_id, "hold"), 10s)) << sipp.output();
    EXPECT_EQ(sipp.wait_success(15s), "");
    EXPECT_EQ(log_problems(lab.log_since(log_offset_)), "");
}

// Rewrites the lab's talkgate_notify.conf; the test's TearDown restores the shipped one.
class ModuleConfigTest : public ModuleTest {
  protected:
    void write_config(const std::string& content) {
        std::ofstream(lab["LAB_ROOT"] + lab["LAB_DIR"] + "/etc/talkgate_notify.conf") << content;
        const std::string out = lab.cli(std::string("module reload ") + kModule);
        ASSERT_EQ(out.find("not found"), std::string::npos) << out;
    }
    void TearDown() override {
        std::ifstream shipped(talkgate::test::source_dir() +
                              "/deploy/asterisk/module/talkgate_notify.conf");
        std::ostringstream content;
        content << shipped.rdbuf();
        write_config(content.str());
        ModuleTest::TearDown();
    }
};

TEST_F(ModuleConfigTest, ReloadAppliesTheConfiguredEventPackages) {
    write_config("[general]\nevents = talk\nendpoints = genesys\n");
    AriApp ari(lab);
    AmiListener ami(lab);
    const std::string uuid = "MODULECONFIG0001";
    // hold is no longer the module's: sipp fails the call if NOTIFY hold gets any response.
    Sipp sipp(lab, genesys("module_genesys_other_event.xml", uuid, {"-set", "other", "hold"}));

    json channel = start_and_ring(ari, uuid, sipp);
    ASSERT_FALSE(channel.is_null());
    ASSERT_TRUE(ami.wait_for(ami_notify(uuid, "talk"), 10s)) << sipp.output();
    EXPECT_EQ(ari.post("/channels/" + str(channel, "id") + "/answer"), 204);
    EXPECT_EQ(sipp.wait_success(15s), "");
    EXPECT_EQ(ami.count(ami_notify(uuid, "hold")), 0u);
}

TEST_F(ModuleConfigTest, NotifyTalkFromAnEndpointNotNamedGenesysGetsNo200AndNoEvent) {
    // Genesys's endpoint in the lab is `genesys`: first another endpoint is configured as
    // Genesys's, then none at all (the default of a missing setting).
    const std::vector<std::string> configs = {
        "[general]\nevents = talk,hold\nendpoints = other\n",
        "[general]\nevents = talk,hold\n",
    };
    for (std::size_t i = 0; i < configs.size(); ++i) {
        SCOPED_TRACE(configs[i]);
        write_config(configs[i]);
        AriApp ari(lab);
        AmiListener ami(lab);
        const std::string uuid = "MODULENOTGENESYS" + std::to_string(i);
        // sipp fails the call if its NOTIFY talk gets any response within 2 s.
        Sipp sipp(lab,
                  genesys("module_genesys_notify_unanswered.xml", uuid, {"-set", "other", "talk"}));
        json channel = start_and_ring(ari, uuid, sipp);
        ASSERT_FALSE(channel.is_null());
        std::this_thread::sleep_for(2500ms);  // sipp's 2 s without a response to its NOTIFY
        EXPECT_EQ(ari.post("/channels/" + str(channel, "id") + "/answer"), 204);
        EXPECT_EQ(sipp.wait_success(15s), "");
        EXPECT_EQ(ami.count(ami_notify(uuid, "talk")), 0u);
        EXPECT_EQ(ari.count(ari_notify(uuid, "talk")), 0u);
    }
}

TEST_F(ModuleTest, TransferStartedByAsteriskCompletesWithItsReferNotify) {
    AriApp ari(lab);
    AmiListener ami(lab);
    const std::string uuid = "MODULEREFER0001";
    Sipp sipp(lab, genesys("module_genesys_refer.xml", uuid));

    auto start = ari.wait_for(stasis_start(uuid), 10s);
    ASSERT_TRUE(start) << sipp.output();
    const std::string id = str((*start)["channel"], "id");
    ASSERT_EQ(ari.post("/channels/" + id + "/answer"), 204);
    // An answered PJSIP channel redirected to an endpoint: chan_pjsip sends REFER.
    ASSERT_EQ(ari.post("/channels/" + id + "/redirect?endpoint=PJSIP/1005"), 204);

    // sipp checks the REFER's Refer-To and insists on 200 OK to its NOTIFY Event: refer.
    EXPECT_EQ(sipp.wait_success(15s), "");
    EXPECT_EQ(ami.count(ami_notify(uuid, "refer")), 0u);
    EXPECT_EQ(ari.count(ari_notify(uuid, "refer")), 0u);
    EXPECT_EQ(log_problems(lab.log_since(log_offset_)), "");
}

}  // namespace
