// A real WebRTC agent against the lab whose agent side is the shipped deploy/asterisk config
// (TALKGATE_LAB_WEBRTC=yes): JsSIP in headless Chromium registers DN 1002 over WSS with the
// agent-endpoint template (DTLS-SRTP, ICE, opus), talkgate runs in-process, sipp plays Genesys
// and echoes the RTP it receives. The page's driver (driver.mjs) is the agent desktop's bridge.
#include "controller_harness.hpp"
#include "node_driver.hpp"

#include <cpprest/http_client.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>

namespace talkgate::test {
namespace {

// The browser agent: node driver.mjs (and the Chromium it runs). Artefacts (screenshot, page
// log) stay in the build tree under browser-artefacts/TEST.
class BrowserAgent {
  public:
    BrowserAgent(const LabEnv& lab, const std::string& mode, const std::string& library)
        : driver_("driver.mjs",
                  {"TALKGATE_BROWSER_WSS=" + lab["LAB_WSS_URL"], "TALKGATE_BROWSER_DN=1002",
                   "TALKGATE_BROWSER_PASSWORD=" + lab["LAB_AGENT_PASSWORD"],
                   "TALKGATE_BROWSER_CERT=" + lab["LAB_TLS_CERT"], "TALKGATE_BROWSER_MODE=" + mode,
                   "TALKGATE_BROWSER_ARTEFACTS=" + artefacts(), "TALKGATE_BROWSER_LIFETIME_S=90",
                   "TALKGATE_BROWSER_LIBRARY=" + library},
                  artefacts(), "/control/quit") {}

    bool ready() const { return driver_.ready(); }
    const std::string& url() const { return driver_.url(); }
    std::string diagnostics() const { return driver_.diagnostics(); }
    void post(const std::string& path) { driver_.request("POST", path); }

    // Waits until the page's state satisfies `done`; returns the last state read.
    template <class F>
    nlohmann::json wait_state(F&& done, std::chrono::milliseconds deadline) {
        return driver_.wait_for("/state", std::forward<F>(done), deadline);
    }

  private:
    static std::string artefacts() {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        return std::string(TALKGATE_BROWSER_ARTEFACTS) + "/" + info->name();
    }

    NodeDriver driver_;
};

bool status_is(const nlohmann::json& s, const std::string& prefix) {
    return s.contains("status") && s["status"].get<std::string>().rfind(prefix, 0) == 0;
}

class BrowserLabTest : public ControllerLabTest {
  protected:
    // Starts the browser in `mode` (on JsSIP, or SIP.js); talkgate's bridge API is its driver.
    void start_with_browser(const std::string& mode, const std::string& library = "jssip") {
        browser_ = std::make_unique<BrowserAgent>(lab_, mode, library);
        ASSERT_TRUE(browser_->ready()) << browser_->diagnostics();
        config_.bridge_api_url = browser_->url();
        start();
    }

    // Genesys with sipp echoing every RTP packet it receives back to Asterisk.
    Sipp::Options genesys_with_echo(const std::string& scenario, const std::string& uuid,
                                    int call_ms) {
        auto o = genesys("1002", scenario, uuid, call_ms);
        o.extra.insert(o.extra.end(), {"-rtp_echo", "-mi", lab_["LAB_GENESYS_IP"], "-mp",
                                       std::to_string(lab_.next_sipp_port())});
        return o;
    }

    // Asterisk's RTP counters on the Genesys leg (chan_pjsip CHANNEL(rtcp,all,audio)): the
    // packets it received from Genesys (sipp's echo) and sent to Genesys.
    std::pair<long, long> genesys_rtp() {
        web::http::client::http_client_config hc;
        hc.set_timeout(2s);
        hc.set_credentials(web::credentials(lab_["LAB_ARI_USER"], lab_["LAB_ARI_PASSWORD"]));
        web::http::client::http_client c(lab_["LAB_ARI_URL"] + "/ari", hc);
        auto channels = c.request(web::http::methods::GET, "/channels").get().extract_json().get();
        for (const auto& ch : channels.as_array()) {
            if (ch.at("name").as_string().rfind("PJSIP/genesys-", 0) != 0) continue;
            auto r = c.request(web::http::methods::GET,
                               "/channels/" + ch.at("id").as_string() + "/variable?variable=" +
                                   web::uri::encode_data_string("CHANNEL(rtcp,all,audio)"))
                         .get();
            const auto body = r.extract_string().get();
            const auto v = nlohmann::json::parse(body, nullptr, false);
            if (r.status_code() != 200 || !v.contains("value")) {
                ADD_FAILURE() << "CHANNEL(rtcp,all,audio): " << r.status_code() << " " << body;
                return {-1, -1};
            }
            const auto all = v["value"].get<std::string>();  // ssrc=...;rxcount=N;...;txcount=N
            auto count = [&all](const std::string& key) {
                const auto at = all.find(";" + key + "=");
                return at == std::string::npos ? -1L : std::stol(all.substr(at + key.size() + 2));
            };
            return {count("rxcount"), count("txcount")};
        }
        ADD_FAILURE() << "no Genesys channel in Asterisk";
        return {-1, -1};
    }

    std::unique_ptr<BrowserAgent> browser_;
};

TEST_F(BrowserLabTest, NotifyTalkReachesTheBrowserWhichAnswersWithMediaBothWays) {
    start_with_browser("notify");
    Sipp g(lab_, genesys_with_echo("genesys_notify_talk.xml", "UUID-BROWSER-MEDIA", 8000));

    auto s = browser_->wait_state([](const auto& st) { return status_is(st, "talking"); }, 15s);
    ASSERT_TRUE(status_is(s, "talking")) << s.dump() << g.output() << browser_->diagnostics();
    // The page answered on the in-dialog NOTIFY talk (200 from its handler), not the bridge API.
    ASSERT_FALSE(s["notifies"].empty()) << s.dump();
    EXPECT_EQ(s["notifies"][0]["event"], "talk");
    EXPECT_EQ(s["notifies"][0]["status"], 200);
    EXPECT_EQ(s["counts"]["answers"], 1);
    // Chromium's fake microphone beeps: the beep goes to Genesys, sipp echoes it, and it comes
    // back to the page as audio with energy.
    s = browser_->wait_state(
        [](const auto& st) {
            return st["stats"]["inbound_packets"].template get<long>() >= 100 &&
                   st["stats"]["inbound_audio_energy"].template get<double>() > 0;
        },
        6s);
    EXPECT_GE(s["stats"]["inbound_packets"].get<long>(), 100) << s.dump();
    EXPECT_GT(s["stats"]["inbound_audio_energy"].get<double>(), 0) << s.dump();
    EXPECT_GE(s["stats"]["outbound_packets"].get<long>(), 100) << s.dump();
    EXPECT_EQ(s["stats"]["dtls"], "connected") << s.dump();
    const auto [from_genesys, to_genesys] = genesys_rtp();
    std::cout << "media: browser in " << s["stats"]["inbound_packets"] << " packets (energy "
              << s["stats"]["inbound_audio_energy"] << ", " << s["stats"]["codec"] << "), out "
              << s["stats"]["outbound_packets"] << "; Asterisk from Genesys " << from_genesys
              << ", to Genesys " << to_genesys << "\n";
    EXPECT_GE(from_genesys, 100) << "RTP packets Asterisk received from Genesys";
    EXPECT_GE(to_genesys, 100) << "RTP packets Asterisk sent to Genesys";

    EXPECT_EQ(g.wait_success(15s), "");  // Genesys hangs up after 8 s
    s = browser_->wait_state([](const auto& st) { return status_is(st, "ended"); }, 5s);
    EXPECT_TRUE(status_is(s, "ended: remote")) << s.dump();
    EXPECT_EQ(answers(metrics::AnswerPath::pjsip_notify, metrics::ActionOutcome::ok), 1u);
    expect_nothing_left();
}

TEST_F(BrowserLabTest, NotifyHoldAndTalkMakeTheBrowserHoldAndRetrieveWithItsOwnReInvites) {
    start_with_browser("notify");
    Sipp g(lab_, genesys_with_echo("genesys_hold_retrieve.xml", "UUID-BROWSER-HOLD", 1000));

    EXPECT_EQ(g.wait_success(30s), "") << browser_->diagnostics();  // sendonly, then sendrecv
    auto s = browser_->wait_state([](const auto& st) { return status_is(st, "ended"); }, 5s);
    EXPECT_TRUE(status_is(s, "ended: remote")) << s.dump();
    EXPECT_EQ(s["reinvites"], nlohmann::json::array({"sendonly", "sendrecv"})) << s.dump();
    EXPECT_EQ(s["counts"]["holds"], 1);
    EXPECT_EQ(s["counts"]["retrieves"], 1);
    std::vector<std::string> events;
    for (const auto& n : s["notifies"]) {
        events.push_back(n["event"]);
        EXPECT_EQ(n["status"], 200) << s.dump();
    }
    EXPECT_EQ(events, (std::vector<std::string>{"talk", "hold", "talk"})) << s.dump();
    expect_nothing_left();
}

TEST_F(BrowserLabTest, BridgeApiAnswersTheBrowserAndItsHangupReachesGenesys) {
    start_with_browser("bridge");
    Sipp g(lab_, genesys_with_echo("genesys_notify_talk_remote_bye.xml", "UUID-BROWSER-BYE", 500));

    auto s = browser_->wait_state([](const auto& st) { return status_is(st, "talking"); }, 15s);
    ASSERT_TRUE(status_is(s, "talking")) << s.dump() << g.output() << browser_->diagnostics();
    bool answer_seen = false;
    for (const auto& r : s["bridge_requests"]) answer_seen |= r["path"] == "/answer/1002";
    EXPECT_TRUE(answer_seen) << s.dump();
    // What stock JsSIP answers to talkgate's NOTIFY talk on a ringing call.
    ASSERT_FALSE(s["notifies"].empty()) << s.dump();
    EXPECT_EQ(s["notifies"][0]["event"], "talk");
    EXPECT_EQ(s["notifies"][0]["status"], 403) << s.dump();

    browser_->post("/control/hangup");
    EXPECT_EQ(g.wait_success(10s), "");  // Genesys got the BYE
    s = browser_->wait_state([](const auto& st) { return status_is(st, "ended"); }, 5s);
    EXPECT_TRUE(status_is(s, "ended: local")) << s.dump();
    EXPECT_EQ(metrics_.calls.labels({"agent_hangup"}).value(), 1u);
    expect_nothing_left();
}

// The bridge API alone holds and retrieves; what stock JsSIP answers to talkgate's NOTIFYs in
// the confirmed dialog (it handles only Event: refer there).
TEST_F(BrowserLabTest, BridgeApiHoldsAndRetrievesTheBrowser) {
    start_with_browser("bridge");
    Sipp g(lab_, genesys_with_echo("genesys_hold_retrieve.xml", "UUID-BROWSER-BRIDGE-HOLD", 1000));

    EXPECT_EQ(g.wait_success(30s), "") << browser_->diagnostics();  // sendonly, then sendrecv
    auto s = browser_->wait_state([](const auto& st) { return status_is(st, "ended"); }, 5s);
    EXPECT_TRUE(status_is(s, "ended: remote")) << s.dump();
    EXPECT_EQ(s["reinvites"], nlohmann::json::array({"sendonly", "sendrecv"})) << s.dump();
    std::vector<std::pair<std::string, int>> answered;
    for (const auto& n : s["notifies"])
        answered.emplace_back(n["event"], n["status"].is_number() ? n["status"].get<int>() : 0);
    EXPECT_EQ(answered, (std::vector<std::pair<std::string, int>>{
                            {"talk", 403}, {"hold", 489}, {"talk", 489}}))
        << s.dump();
    expect_nothing_left();
}

TEST_F(BrowserLabTest, RegisteredBrowserNeverAnsweringGivesGenesys408) {
    config_.agent_ring_timeout = 3s;
    start_with_browser("never");
    Sipp g(lab_, genesys("1002", "genesys_expect_408.xml", "UUID-BROWSER-NOANSWER"));

    auto s = browser_->wait_state([](const auto& st) { return status_is(st, "ringing"); }, 10s);
    EXPECT_TRUE(status_is(s, "ringing")) << s.dump() << browser_->diagnostics();
    EXPECT_EQ(g.wait_success(15s), "");
    s = browser_->wait_state([](const auto& st) { return status_is(st, "failed"); }, 5s);
    EXPECT_TRUE(status_is(s, "failed: remote")) << s.dump();
    EXPECT_EQ(metrics_.calls.labels({"no_answer"}).value(), 1u);
    expect_nothing_left();
}

// SIP.js answers every NOTIFY 200 itself; the bridge API answers, holds and retrieves.
TEST_F(BrowserLabTest, SipJsBridgeApiHoldsAndRetrievesTheBrowser) {
    start_with_browser("bridge", "sipjs");
    Sipp g(lab_, genesys_with_echo("genesys_hold_retrieve.xml", "UUID-SIPJS-HOLD", 1000));

    EXPECT_EQ(g.wait_success(30s), "") << browser_->diagnostics();  // sendonly, then sendrecv
    auto s = browser_->wait_state([](const auto& st) { return status_is(st, "ended"); }, 5s);
    EXPECT_TRUE(status_is(s, "ended")) << s.dump();
    EXPECT_EQ(s["reinvites"], nlohmann::json::array({"sendonly", "sendrecv"})) << s.dump();
    std::vector<std::pair<std::string, int>> answered;
    for (const auto& n : s["notifies"])
        answered.emplace_back(n["event"], n["status"].is_number() ? n["status"].get<int>() : 0);
    EXPECT_EQ(answered, (std::vector<std::pair<std::string, int>>{
                            {"talk", 200}, {"hold", 200}, {"talk", 200}}))
        << s.dump();
    expect_nothing_left();
}

// SIP.js answers the NOTIFY talk on a ringing call 200 but never hands it to the application
// (SessionDelegate.onNotify sees NOTIFYs only once the call is established): without the
// bridge API the call is never answered.
TEST_F(BrowserLabTest, SipJsNeverHandsTheEarlyNotifyTalkToTheApplication) {
    config_.agent_ring_timeout = 3s;
    start_with_browser("notify", "sipjs");
    Sipp g(lab_, genesys("1002", "genesys_notify_talk_expect_408.xml", "UUID-SIPJS-EARLY"));

    EXPECT_EQ(g.wait_success(15s), "") << browser_->diagnostics();  // 408 after 3 s
    auto s = browser_->wait_state([](const auto& st) { return status_is(st, "failed"); }, 5s);
    EXPECT_TRUE(status_is(s, "failed")) << s.dump();
    ASSERT_EQ(s["notifies"].size(), 1u) << s.dump();
    EXPECT_EQ(s["notifies"][0]["event"], "talk");
    EXPECT_EQ(s["notifies"][0]["status"], 200) << s.dump();
    EXPECT_EQ(s["counts"]["answers"], 0) << s.dump();
    EXPECT_EQ(metrics_.calls.labels({"no_answer"}).value(), 1u);
    expect_nothing_left();
}

}  // namespace
}  // namespace talkgate::test
