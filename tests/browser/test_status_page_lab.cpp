// Issue 15: talkgate's live web page in headless Chromium while sipp places a call through the
// real lab. The real talkgate executable serves the page; the test logs in through the page's
// form (a wrong token first), watches the call ring, picks it, reads its ladder with the NOTIFY
// and the answer, and sees it move to the recent calls on hangup. Screenshots of each stage stay
// in the build tree under browser-artefacts/<test>/.
#include <cpprest/http_client.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <iostream>

#include "fake_bridge_api.hpp"
#include "lab_env.hpp"
#include "node_driver.hpp"
#include "polling.hpp"
#include "sipp.hpp"
#include "talkgate_process.hpp"

namespace talkgate::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// The page in Chromium: node status_page.mjs, driven over its control URL.
class PageDriver {
  public:
    PageDriver(const std::string& page_url, const std::string& artefacts)
        : driver_("status_page.mjs",
                  {"TALKGATE_PAGE_URL=" + page_url, "TALKGATE_BROWSER_ARTEFACTS=" + artefacts,
                   "TALKGATE_BROWSER_LIFETIME_S=100"},
                  artefacts, "/quit") {}

    void quit() { driver_.quit(); }  // final screenshot and page.log
    bool ready() const { return driver_.ready(); }
    std::string diagnostics() const { return driver_.diagnostics(); }
    std::string page_log() const { return driver_.artefact("page.log"); }

    json post(const std::string& path, const json& body = json::object()) {
        return json::parse(driver_.request("POST", path, body.dump()), nullptr, false);
    }
    void screenshot(const std::string& name) { post("/screenshot", {{"name", name}}); }

    // Waits until what the page shows satisfies `done`; returns the last snapshot read.
    template <class F>
    json wait_for(F&& done, std::chrono::milliseconds deadline) {
        return driver_.wait_for("/snapshot", std::forward<F>(done), deadline);
    }

  private:
    NodeDriver driver_;
};

// The row of `rows` whose `key` is `value`; null when none.
json row_with(const json& rows, const std::string& key, const std::string& value) {
    if (!rows.is_array()) return json();
    for (const auto& r : rows) {
        if (r.value(key, "") == value) return r;
    }
    return json();
}

bool ladder_has(const json& snap, const std::string& step) {
    for (const auto& s : snap["ladder"]) {
        if (s["step"] == step) return true;
    }
    return false;
}

// Every label text of the ladder's steps named `step`, joined.
std::string ladder_text(const json& snap, const std::string& step) {
    std::string out;
    for (const auto& s : snap["ladder"]) {
        if (s["step"] != step) continue;
        for (const auto& t : s["text"]) out += t.get<std::string>() + " | ";
    }
    return out;
}

class StatusPageLabTest : public ::testing::Test {
  protected:
    StatusPageLabTest() : lab_(LabEnv::get()) {}

    void SetUp() override {
        lab_.reset();
        token_ = random_token(32);
        dir_ = make_temp_dir("talkgate-page-");
        settings_ = lab_talkgate_settings(lab_, status_port(), token_, bridge_.url());
        add_lab_hep(settings_, lab_);
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        artefacts_ = std::string(TALKGATE_BROWSER_ARTEFACTS) + "/" + info->name();
    }

    void TearDown() override {
        if (page_) page_->quit();
        if (HasFailure() && page_) std::cerr << page_->diagnostics() << page_->page_log();
        if (!process_) return;
        const std::string how = process_->stop();
        const std::string log = process_->log();
        EXPECT_EQ(secrets_in(log, settings_), std::vector<std::string>{}) << "in the log";
        if (HasFailure()) std::cerr << "talkgate (" << how << ") log:\n" << log << '\n';
        run_command("rm -rf '" + dir_ + "'", 10s);
    }

    int status_port() const { return lab_.port("LAB_PORT_BASE") + 5; }
    std::string status_url() const { return "http://127.0.0.1:" + std::to_string(status_port()); }

    void start() {
        process_ = std::make_unique<TalkgateProcess>(dir_, settings_);
        bool ready = wait_until(
            [this] {
                if (!process_->running()) return false;
                try {
                    web::http::client::http_client_config hc;
                    hc.set_timeout(2s);
                    web::http::client::http_client c(status_url(), hc);
                    return c.request(web::http::methods::GET, "/health").get().status_code() == 200;
                } catch (const std::exception&) {
                    return false;
                }
            },
            20s);
        ASSERT_TRUE(ready) << "talkgate not up:\n" << process_->log();
        page_ = std::make_unique<PageDriver>(status_url() + "/", artefacts_);
        ASSERT_TRUE(page_->ready()) << page_->diagnostics();
    }

    const LabEnv& lab_;
    FakeBridgeApi bridge_;
    std::string token_;
    std::string dir_;
    std::string artefacts_;
    Settings settings_;
    std::unique_ptr<TalkgateProcess> process_;
    std::unique_ptr<PageDriver> page_;
};

TEST_F(StatusPageLabTest, ACallRingsGetsItsNotifyAndAnswerOnTheLadderThenMovesToRecentCalls) {
    start();
    json s = page_->wait_for([](const json& j) { return j["login"] == true; }, 10s);
    ASSERT_EQ(s["login"], true) << s.dump();

    // A wrong token: the login form again, with an error.
    page_->post("/login", {{"token", random_token(32)}});
    s = page_->wait_for([](const json& j) { return !j["loginError"].get<std::string>().empty(); },
                        10s);
    EXPECT_EQ(s["login"], true) << s.dump();
    EXPECT_NE(s["loginError"].get<std::string>().find("Wrong token"), std::string::npos)
        << s.dump();
    page_->screenshot("1-wrong-token");

    page_->post("/login", {{"token", token_}});
    s = page_->wait_for(
        [](const json& j) { return j["login"] == false && j["connection"] == "live"; }, 10s);
    ASSERT_EQ(s["connection"], "live") << s.dump() << page_->diagnostics();

    const std::string uuid = "UUID-PAGE-" + random_token(8);
    LabCall sipps(lab_, Sipp::agent(lab_, "1002", "agent_answer_on_notify.xml"),
                  Sipp::genesys(lab_, "1002", "genesys_ring_then_notify_talk.xml", uuid, 3000));

    // The call shows while it rings (Genesys waits 4 s after its 180 before the NOTIFY talk).
    s = page_->wait_for(
        [](const json& j) { return !row_with(j["live"], "state", "ringing").is_null(); }, 10s);
    const json ringing = row_with(s["live"], "state", "ringing");
    ASSERT_FALSE(ringing.is_null()) << s.dump() << sipps.output();
    EXPECT_EQ(ringing["dn"], "1002");
    const std::string id = ringing["id"];
    EXPECT_EQ(page_->post("/select", {{"id", id}})["clicked"], true);
    s = page_->wait_for([](const json& j) { return ladder_has(j, "genesys_rung"); }, 5s);
    EXPECT_TRUE(ladder_has(s, "agent_ringing")) << s.dump();
    EXPECT_FALSE(ladder_has(s, "notify")) << s.dump();
    page_->screenshot("2-ringing");

    // NOTIFY talk, the answer actions, the bridge: on the ladder while the call is connected.
    s = page_->wait_for(
        [&](const json& j) {
            return row_with(j["live"], "id", id).value("state", "") == "connected" &&
                   ladder_has(j, "bridged");
        },
        10s);
    ASSERT_EQ(row_with(s["live"], "id", id).value("state", ""), "connected") << s.dump();
    EXPECT_NE(ladder_text(s, "notify").find("NOTIFY Event: talk (via hep)"), std::string::npos)
        << s.dump();
    EXPECT_NE(ladder_text(s, "answer_action").find("PJSIPNotify talk: ok"), std::string::npos)
        << s.dump();
    EXPECT_TRUE(ladder_has(s, "agent_answered")) << s.dump();
    page_->screenshot("3-answered");

    // Hangup: the call leaves the live table for the recent calls, its ladder ends, and DN
    // 1002's NOTIFY -> answer latency counts it.
    EXPECT_EQ(sipps.wait_success(20s, 10s), "");
    s = page_->wait_for(
        [&](const json& j) {
            return row_with(j["live"], "id", id).is_null() &&
                   !row_with(j["recent"], "id", id).is_null() && ladder_has(j, "ended") &&
                   !row_with(j["latency"], "dn", "1002").is_null();
        },
        10s);
    EXPECT_TRUE(row_with(s["live"], "id", id).is_null()) << s.dump();
    EXPECT_EQ(row_with(s["recent"], "id", id).value("outcome", ""), "genesys_hangup") << s.dump();
    EXPECT_TRUE(ladder_has(s, "hangup")) << s.dump();
    EXPECT_NE(ladder_text(s, "ended").find("genesys_hangup"), std::string::npos) << s.dump();
    const json latency = row_with(s["latency"], "dn", "1002");
    ASSERT_FALSE(latency.is_null()) << s.dump();
    EXPECT_EQ(latency["cells"][1], "1") << latency.dump();  // one answer in the window
    EXPECT_NE(s["ladderMeta"].get<std::string>().find(uuid), std::string::npos) << s.dump();
    page_->screenshot("4-recent");

    // The tab keeps its login and its chosen call across a reload (session storage).
    page_->post("/reload");
    s = page_->wait_for(
        [&](const json& j) {
            return j["login"] == false && !row_with(j["recent"], "id", id).is_null() &&
                   ladder_has(j, "ended");
        },
        10s);
    EXPECT_EQ(s["login"], false) << s.dump();
    EXPECT_EQ(s["selected"], id) << s.dump();

    page_->quit();
    const std::string log = page_->page_log();
    EXPECT_EQ(log.find("page error"), std::string::npos) << log;
    EXPECT_EQ(log.find("Content Security Policy"), std::string::npos) << log;
    std::cout << "screenshots in " << artefacts_ << "\n";
}

}  // namespace
}  // namespace talkgate::test
