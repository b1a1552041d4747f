// The real talkgate executable against the real Asterisk lab: sipp plays Genesys (127.0.0.2)
// and the agents (127.0.0.3), a loopback fake plays the bridge API; the status API is driven
// over HTTP like an operator would, and the process's own log is checked.
#include <gtest/gtest.h>

#include <cpprest/http_client.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fake_bridge_api.hpp"
#include "lab_env.hpp"
#include "metrics_exposition_parser.hpp"
#include "openapi_check.hpp"
#include "polling.hpp"
#include "sipp.hpp"
#include "talkgate_process.hpp"
#include "udp_receiver.hpp"

namespace talkgate::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

struct Reply {
    int status = 0;
    std::string body;
    json json_body;  // discarded when the body is not JSON
    std::string error;
};

class TalkgateLabTest : public ::testing::Test {
  protected:
    TalkgateLabTest() : lab_(LabEnv::get()) {}

    void SetUp() override {
        lab_.reset();
        token_ = random_token(32);
        dir_ = make_temp_dir("talkgate-lab-");
        settings_ = lab_talkgate_settings(lab_, status_port(), token_, bridge_.url());
        add_lab_hep(settings_, lab_);
    }

    void TearDown() override {
        if (!process_) return;
        std::string how = process_->stop();
        std::string log = process_->log();
        // Secrets never reach the log, whatever the test did.
        EXPECT_EQ(secrets_in(log, settings_), std::vector<std::string>{}) << "in the log";
        if (HasFailure()) std::cerr << "talkgate (" << how << ") log:\n" << log << '\n';
        process_.reset();
        run_command("rm -rf '" + dir_ + "'", 10s);
    }

    int status_port() const { return lab_.port("LAB_PORT_BASE") + 5; }

    // Starts talkgate and waits until its status API answers /health and /ready is 200.
    void start() {
        process_ = std::make_unique<TalkgateProcess>(dir_, settings_);
        bool ready = wait_until(
            [this] { return process_->running() && http("GET", "/ready").status == 200; }, 20s);
        ASSERT_TRUE(ready) << "talkgate not ready:\n" << process_->log();
    }

    Reply http(const std::string& method, const std::string& target,
               std::optional<std::string> authorization = std::nullopt,
               const std::string& body = "", const std::string& content_type = "") {
        Reply r;
        try {
            web::http::client::http_client_config cfg;
            cfg.set_timeout(10s);
            web::http::client::http_client client(
                "http://127.0.0.1:" + std::to_string(status_port()), cfg);
            web::http::http_request req(method);
            req.set_request_uri(web::uri(target));
            std::string auth = authorization ? *authorization : "Bearer " + token_;
            if (!auth.empty()) req.headers().add("Authorization", auth);
            if (!body.empty())
                req.set_body(body, content_type.empty() ? "application/json" : content_type);
            auto resp = client.request(req).get();
            r.status = resp.status_code();
            r.body = resp.extract_utf8string(true).get();
            r.json_body = json::parse(r.body, nullptr, false);
        } catch (const std::exception& e) {
            r.error = e.what();
        }
        return r;
    }

    PromParseResult metrics() {
        auto r = http("GET", "/metrics");
        EXPECT_EQ(r.status, 200) << r.body << r.error;
        auto parsed = parse_prometheus_text(r.body);
        EXPECT_TRUE(parsed.ok()) << "line " << parsed.error_line << ": " << parsed.error;
        return parsed;
    }

    Sipp::Options agent(const std::string& dn, const std::string& scenario) {
        return Sipp::agent(lab_, dn, scenario);
    }

    Sipp::Options genesys(const std::string& dn, const std::string& scenario,
                          const std::string& uuid, int call_ms) {
        return Sipp::genesys(lab_, dn, scenario, uuid, call_ms);
    }

    // The reply fits what app/status/openapi.json says METHOD TARGET answers with its status.
    void expect_fits_contract(const std::string& method, const std::string& target,
                              const Reply& r) {
        static const json doc = [] {
            std::ifstream in(source_dir() + "/app/status/openapi.json");
            std::ostringstream text;
            text << in.rdbuf();
            return json::parse(text.str());
        }();
        SCOPED_TRACE("contract: " + method + " " + target + " -> " + std::to_string(r.status));
        const std::string path = target.substr(0, target.find('?'));
        std::string error;
        const json* schema = response_schema(doc, r.status == 405 ? "GET" : method, path, r.status,
                                             "application/json", error);
        // A route the document does not have is a 404 with the documented Error.
        if (schema == nullptr && r.status == 404 && error.rfind("no path", 0) == 0)
            schema = &doc["components"]["schemas"]["Error"];
        ASSERT_NE(schema, nullptr) << error;
        ASSERT_FALSE(r.json_body.is_discarded()) << r.body;
        for (const auto& problem : schema_problems(doc, *schema, r.json_body))
            ADD_FAILURE() << problem << " in " << r.body;
    }

    // The calls GET /calls/{dn} shows, empty when the request failed.
    json calls_of(const std::string& dn) {
        auto r = http("GET", "/calls/" + dn);
        if (r.status != 200 || r.json_body.is_discarded()) return json::array();
        return r.json_body["calls"];
    }

    // The one call GET /calls/{dn} shows once it is connected; null if none within 10 s.
    json wait_connected(const std::string& dn) {
        json call;
        wait_until(
            [&] {
                auto calls = calls_of(dn);
                if (calls.size() != 1 || calls[0]["state"] != "connected") return false;
                call = calls[0];
                return true;
            },
            10s);
        return call;
    }

    const LabEnv& lab_;
    FakeBridgeApi bridge_;
    std::string token_;
    std::string dir_;
    Settings settings_;
    std::unique_ptr<TalkgateProcess> process_;
};

TEST_F(TalkgateLabTest, EveryRouteNeedsTheTokenButHealth) {
    start();
    struct Route {
        std::string method, target;
        int with_token;
    };
    const std::vector<Route> routes = {{"GET", "/ready", 200},
                                       {"GET", "/metrics", 200},
                                       {"GET", "/calls", 200},
                                       {"GET", "/calls/1002", 200},
                                       {"GET", "/calls?call_uuid=NO-SUCH-UUID", 200},
                                       {"GET", "/calls/recent?dn=1002", 200},
                                       {"GET", "/calls/nope/trace", 404},
                                       {"POST", "/calls/1002/answer", 404}};  // no call
    const std::string wrong = "Bearer " + random_token(32);
    for (const auto& r : routes) {
        SCOPED_TRACE(r.method + " " + r.target);
        auto none = http(r.method, r.target, std::string());
        EXPECT_EQ(none.status, 401) << none.body << none.error;
        EXPECT_TRUE(none.json_body.is_object() && none.json_body.contains("error")) << none.body;
        auto bad = http(r.method, r.target, wrong);
        EXPECT_EQ(bad.status, 401) << bad.body;
        auto basic = http(r.method, r.target, "Basic " + token_);
        EXPECT_EQ(basic.status, 401) << basic.body;
        auto good = http(r.method, r.target);
        EXPECT_EQ(good.status, r.with_token) << good.body << good.error;
        if (r.target != "/metrics") {
            expect_fits_contract(r.method, r.target, none);
            expect_fits_contract(r.method, r.target, good);
        }
    }
    auto health = http("GET", "/health", std::string());
    EXPECT_EQ(health.status, 200);
    expect_fits_contract("GET", "/health", health);
    auto contract = http("GET", "/openapi.json", std::string());
    EXPECT_EQ(contract.status, 200);
    EXPECT_EQ(contract.json_body["openapi"], "3.0.3");
    EXPECT_EQ(health.json_body["status"], "ok");
    auto calls = http("GET", "/calls");
    EXPECT_EQ(calls.json_body["count"], 0);
    auto none = http("GET", "/calls?call_uuid=NO-SUCH-UUID");
    EXPECT_EQ(none.json_body["calls"].size(), 0u);
}

TEST_F(TalkgateLabTest, BadInputGets4xxWithAJsonError) {
    start();
    struct Case {
        std::string method, target, body;
        int status;
    };
    const std::vector<Case> cases = {
        {"GET", "/calls/bad%20dn", "", 400},
        {"GET", "/calls/" + std::string(33, '1'), "", 400},
        {"GET", "/calls/10%2F02", "", 400},
        {"POST", "/calls/bad%22dn/answer", "", 400},
        {"GET", "/calls?dn=1002", "", 400},
        {"POST", "/calls/1002/answer", "{not json", 400},
        {"POST", "/calls/1002/answer", "[1,2]", 400},
        {"POST", "/calls/1002/answer", "{\"force\":true}", 400},
        {"GET", "/nope", "", 404},
        {"GET", "/calls/1002/history", "", 404},
        {"DELETE", "/calls", "", 405},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.method + " " + c.target + " " + c.body);
        auto r = http(c.method, c.target, std::nullopt, c.body);
        EXPECT_EQ(r.status, c.status) << r.body << r.error;
        expect_fits_contract(c.method, c.target, r);
        ASSERT_TRUE(r.json_body.is_object()) << r.body;
        EXPECT_TRUE(r.json_body["error"].is_string()) << r.body;
    }
    auto empty_object = http("POST", "/calls/1002/answer", std::nullopt, "{}");
    EXPECT_EQ(empty_object.status, 404) << empty_object.body;  // valid body, no call
}

TEST_F(TalkgateLabTest, LiveCallShowsInCallsMetricsMoveAndTheLogTellsEachStep) {
    start();
    auto before = metrics();
    const std::map<std::string, std::string> talk_hep{{"event", "talk"}, {"source", "hep"}};
    const std::map<std::string, std::string> notify_ok{{"path", "pjsip_notify"}, {"outcome", "ok"}};
    const double notify0 = before.value("talkgate_notify_received_total", talk_hep).value_or(0);
    const double answer0 = before.value("talkgate_answer_actions_total", notify_ok).value_or(0);

    const std::string uuid = "UUID-STATUS-LAB-" + random_token(8);
    LabCall sipps(lab_, agent("1002", "agent_answer_on_notify.xml"),
                  genesys("1002", "genesys_notify_talk.xml", uuid, 6000));

    json call = wait_connected("1002");
    ASSERT_TRUE(call.is_object()) << calls_of("1002").dump() << sipps.output();
    EXPECT_EQ(call["dn"], "1002");
    EXPECT_EQ(call["call_uuid"], uuid);
    EXPECT_FALSE(call["call_id"].get<std::string>().empty());
    EXPECT_FALSE(call["genesys_channel"].get<std::string>().empty());
    EXPECT_FALSE(call["agent_channel"].get<std::string>().empty());
    EXPECT_TRUE(call["notify_talk_ms"].is_number());
    EXPECT_TRUE(call["answered_ms"].is_number());

    auto all = http("GET", "/calls");
    ASSERT_EQ(all.status, 200);
    ASSERT_EQ(all.json_body["count"], 1) << all.body;
    EXPECT_EQ(all.json_body["calls"][0]["call_uuid"], uuid);
    auto by_uuid = http("GET", "/calls?call_uuid=" + uuid);
    ASSERT_EQ(by_uuid.status, 200);
    ASSERT_EQ(by_uuid.json_body["count"], 1) << by_uuid.body;
    EXPECT_EQ(by_uuid.json_body["calls"][0]["dn"], "1002");
    EXPECT_EQ(by_uuid.json_body["calls"][0]["call_id"], call["call_id"]);
    EXPECT_EQ(http("GET", "/calls?call_uuid=OTHER").json_body["count"], 0);
    EXPECT_EQ(calls_of("1003").size(), 0u);
    auto gauge = metrics().value("talkgate_active_calls");
    EXPECT_EQ(gauge.value_or(-1), 1);

    EXPECT_EQ(sipps.wait_success(20s, 10s), "");
    EXPECT_TRUE(wait_until([&] { return calls_of("1002").empty(); }, 5s));

    auto after = metrics();
    EXPECT_EQ(after.value("talkgate_notify_received_total", talk_hep).value_or(0), notify0 + 1);
    EXPECT_EQ(after.value("talkgate_answer_actions_total", notify_ok).value_or(0), answer0 + 1);
    EXPECT_EQ(after.value("talkgate_notify_to_answer_command_seconds_count").value_or(0), 1);
    EXPECT_EQ(after.value("talkgate_notify_to_genesys_answered_seconds_count").value_or(0), 1);

    // One log line per call step, each naming the DN, the Call-ID and the CallUUID.
    const std::string call_id = call["call_id"];
    std::istringstream log(process_->log());
    std::vector<std::string> lines;
    for (std::string line; std::getline(log, line);) {
        if (line.find("Call-ID=" + call_id) != std::string::npos) lines.push_back(line);
    }
    for (const char* step :
         {"call offered", "dialing agent", "agent ringing", "NOTIFY talk received",
          "answer requested", "agent answered", "call connected", "call ended"}) {
        SCOPED_TRACE(step);
        int found = 0;
        for (const auto& line : lines) {
            if (line.find(step) == std::string::npos) continue;
            ++found;
            EXPECT_NE(line.find("DN=1002"), std::string::npos) << line;
            EXPECT_NE(line.find("CallUUID=" + uuid), std::string::npos) << line;
        }
        EXPECT_EQ(found, 1) << process_->log();
    }
}

// Issue 15: an answered call's ladder, read while it is connected and again once it ended, and
// the recent-calls listing with its filters.
TEST_F(TalkgateLabTest, AnAnsweredCallsTraceShowsItsLadderAndItMovesToRecentCalls) {
    start();
    const std::string uuid = "UUID-TRACE-LAB-" + random_token(8);
    Sipp a(lab_, agent("1002", "agent_answer_on_notify.xml"));
    Sipp g(lab_, genesys("1002", "genesys_notify_talk.xml", uuid, 4000));

    std::string id;
    json live;
    ASSERT_TRUE(wait_until(
        [&] {
            auto calls = calls_of("1002");
            if (calls.size() != 1 || calls[0]["state"] != "connected") return false;
            id = calls[0]["id"];
            live = http("GET", "/calls/" + id + "/trace").json_body;
            return live.is_object();
        },
        10s))
        << calls_of("1002").dump() << g.output() << a.output();
    EXPECT_EQ(live["live"], true);
    EXPECT_TRUE(live["outcome"].is_null());
    Reply live_reply = http("GET", "/calls/" + id + "/trace");
    expect_fits_contract("GET", "/calls/" + id + "/trace", live_reply);
    expect_fits_contract("GET", "/calls", http("GET", "/calls"));
    expect_fits_contract("GET", "/calls/1002", http("GET", "/calls/1002"));
    expect_fits_contract("GET", "/ready", http("GET", "/ready"));
    EXPECT_EQ(live["call_uuid"], uuid);

    EXPECT_EQ(g.wait_success(20s), "");
    EXPECT_EQ(a.wait_success(10s), "");
    Reply ended;
    ASSERT_TRUE(wait_until(
        [&] {
            ended = http("GET", "/calls/" + id + "/trace");
            return ended.status == 200 && ended.json_body["live"] == false;
        },
        5s))
        << ended.status << ended.body;
    expect_fits_contract("GET", "/calls/" + id + "/trace", ended);
    const json& t = ended.json_body;
    EXPECT_EQ(t["outcome"], "genesys_hangup");
    EXPECT_EQ(t["dn"], "1002");
    EXPECT_EQ(t["dropped_steps"], 0);

    // Each step of the ladder once, in order, with times that never go backwards; the answer
    // actions in between, each with its outcome and latency.
    std::vector<std::string> ladder;
    std::map<std::string, json> actions;
    double last_t = -1;
    for (const auto& step : t["steps"]) {
        const std::string name = step["step"];
        EXPECT_GE(step["t_ms"].get<double>(), last_t) << step.dump();
        last_t = step["t_ms"].get<double>();
        if (name == "answer_action") {
            actions[step["source"].get<std::string>()] = step;
        } else if (!(name == "notify" && step["duplicate"] == true)) {
            ladder.push_back(name);
        }
        if (name == "notify") {
            EXPECT_EQ(step["event"], "talk");
            EXPECT_EQ(step["source"], "hep");
        }
        if (name == "hangup") {
            EXPECT_EQ(step["source"], "genesys");
            EXPECT_TRUE(step["cause"].is_number()) << step.dump();
        }
    }
    EXPECT_EQ(ladder, (std::vector<std::string>{"stasis_entered", "agent_leg_created",
                                                "agent_dialled", "agent_ringing", "genesys_rung",
                                                "notify", "answer_requested", "agent_answered",
                                                "bridged", "hangup", "ended"}))
        << t.dump(2);
    for (const char* path : {"pjsip_notify", "bridge_answer", "bridge_notify"}) {
        SCOPED_TRACE(path);
        ASSERT_EQ(actions.count(path), 1u) << t.dump(2);
        EXPECT_EQ(actions[path]["outcome"], "ok");
        EXPECT_EQ(actions[path]["event"], "talk");
        EXPECT_GT(actions[path]["latency_ms"].get<double>(), 0.0);
    }

    auto recent = http("GET", "/calls/recent?dn=1002");
    ASSERT_EQ(recent.status, 200) << recent.body;
    expect_fits_contract("GET", "/calls/recent", recent);
    ASSERT_GE(recent.json_body["count"].get<int>(), 1) << recent.body;
    const json& newest = recent.json_body["calls"][0];
    EXPECT_EQ(newest["id"], id);
    EXPECT_EQ(newest["outcome"], "genesys_hangup");
    EXPECT_EQ(newest["call_uuid"], uuid);
    EXPECT_EQ(newest["steps"], t["steps"].size());
    EXPECT_EQ(http("GET", "/calls/recent?call_uuid=" + uuid).json_body["count"], 1);
    EXPECT_EQ(http("GET", "/calls/recent?call_uuid=" + uuid + "&outcome=busy").json_body["count"],
              0);
    EXPECT_EQ(http("GET", "/calls/recent?dn=1003").json_body["count"], 0);
    EXPECT_EQ(http("GET", "/calls/no-such-call/trace").status, 404);
}

// Issue 15: HEP_FORWARD passes Asterisk's real HEP on to two collectors unchanged (both get
// the same datagrams), a third that does not listen only counts errors, and the call is
// answered as without forwarding.
TEST_F(TalkgateLabTest, HepForwardPassesAsterisksHepOnAndADeadCollectorCostsTheCallNothing) {
    UdpReceiver homer, second;
    const std::string dead = "127.0.0.1:" + std::to_string(dead_udp_port());
    const auto name = [](const UdpReceiver& r) {
        return "127.0.0.1:" + std::to_string(r.endpoint().port());
    };
    settings_["HEP_FORWARD"] = name(homer) + "," + dead + "," + name(second);
    start();
    Sipp a(lab_, agent("1002", "agent_answer_on_notify.xml"));
    Sipp g(lab_, genesys("1002", "genesys_notify_talk.xml", "UUID-HEP-FWD", 1000));
    EXPECT_EQ(g.wait_success(20s), "");
    EXPECT_EQ(a.wait_success(10s), "");

    // Read the collectors until Genesys's NOTIFY came through (datagrams arrive in order).
    PromParseResult m;
    std::size_t count = 0;
    auto has_notify = [](const std::vector<std::string>& got) {
        for (const auto& d : got)
            if (d.find("Event: talk") != std::string::npos) return true;
        return false;
    };
    ASSERT_TRUE(wait_until(
        [&] {
            m = metrics();
            count = static_cast<std::size_t>(m.value("talkgate_hep_forwarded_total",
                                                     {{"target", name(homer)}, {"outcome", "sent"}})
                                                 .value_or(0));
            return count > 0 && homer.receive(count, 1s).size() >= count &&
                   has_notify(homer.receive(count, 1s));
        },
        10s))
        << "forwarded: " << count;
    const std::vector<std::string> got = homer.receive(count, 1s);
    const auto& got2 = second.receive(got.size(), 2s);
    EXPECT_EQ(got, std::vector<std::string>(got2.begin(),
                                            got2.begin() + std::min(got.size(), got2.size())));
    EXPECT_EQ(got2.size(), got.size());
    for (const auto& d : got) EXPECT_EQ(d.substr(0, 4), "HEP3");
    EXPECT_GE(m.value("talkgate_hep_forwarded_total", {{"target", dead}, {"outcome", "error"}})
                  .value_or(0),
              1.0);
    EXPECT_EQ(
        m.value("talkgate_answer_actions_total", {{"path", "pjsip_notify"}, {"outcome", "ok"}})
            .value_or(0),
        1);
}

// Issue 11 regression against the real process: Genesys's INVITE and NOTIFY carry an
// X-Genesys-CallUUID that is not UTF-8. The call is answered all the same, /calls answers 200
// with valid JSON, the dropped header is counted and talkgate stays up.
TEST_F(TalkgateLabTest, NonUtf8CallUuidFromGenesysStopsNeitherTalkgateNorTheCall) {
    start();
    LabCall sipps(lab_, agent("1002", "agent_answer_on_notify.xml"),
                  genesys("1002", "genesys_notify_talk.xml", std::string("\xe9\xff", 2), 6000));
    json call = wait_connected("1002");
    ASSERT_TRUE(call.is_object()) << calls_of("1002").dump() << sipps.output();
    EXPECT_EQ(call["call_uuid"], "");
    auto all = http("GET", "/calls");
    ASSERT_EQ(all.status, 200);
    EXPECT_FALSE(json::parse(all.body, nullptr, false).is_discarded()) << all.body;
    EXPECT_GE(
        metrics().value("talkgate_notify_rejected_total", {{"reason", "bad_header"}}).value_or(0),
        1.0);
    EXPECT_EQ(sipps.wait_success(), "");
    EXPECT_EQ(http("GET", "/health").status, 200);
}

TEST_F(TalkgateLabTest, ManualAnswerMakesARingingAgentAnswerWithPolicyOff) {
    settings_["ANSWER_POLICY"] = "off";
    start();
    const std::string uuid = "UUID-MANUAL-" + random_token(8);
    LabCall sipps(lab_, agent("1003", "agent_answer_on_notify.xml"),
                  genesys("1003", "genesys_plain.xml", uuid, 1000));

    ASSERT_TRUE(wait_until(
        [&] {
            auto calls = calls_of("1003");
            return calls.size() == 1 && calls[0]["state"] == "ringing";
        },
        10s))
        << calls_of("1003").dump() << sipps.genesys.output();
    // Policy off: nothing answers by itself while it rings.
    std::this_thread::sleep_for(1s);
    ASSERT_EQ(calls_of("1003")[0]["state"], "ringing");

    auto none = http("POST", "/calls/1004/answer");
    EXPECT_EQ(none.status, 404) << none.body;
    EXPECT_EQ(none.json_body["result"], "no_such_call");

    auto r = http("POST", "/calls/1003/answer", std::nullopt, "{}");
    EXPECT_EQ(r.status, 202) << r.body << r.error;
    EXPECT_EQ(r.json_body["result"], "requested");
    expect_fits_contract("POST", "/calls/1004/answer", none);
    expect_fits_contract("POST", "/calls/1003/answer", r);
    EXPECT_EQ(sipps.agent.wait_success(15s), "");  // it answered only because of the NOTIFY talk
    EXPECT_EQ(sipps.genesys.wait_success(15s), "");
    auto m = metrics();
    EXPECT_EQ(
        m.value("talkgate_answer_actions_total", {{"path", "pjsip_notify"}, {"outcome", "ok"}})
            .value_or(0),
        1);
}

TEST_F(TalkgateLabTest, ReadyIs503WhileAsteriskIsStoppedAnd200WhenItReturns) {
    start();
    auto ready = http("GET", "/ready");
    ASSERT_EQ(ready.status, 200);
    EXPECT_EQ(ready.json_body["ready"], true);
    EXPECT_EQ(ready.json_body["ari"]["up"], true);
    EXPECT_EQ(ready.json_body["ami"]["up"], true);

    lab_.stop();
    Reply down;
    bool went_down = wait_until(
        [&] {
            down = http("GET", "/ready");
            return down.status == 503;
        },
        20s);
    lab_.start_again();  // the lab stays up for later tests, whatever happened above
    ASSERT_TRUE(went_down) << down.status << down.body;
    EXPECT_EQ(down.json_body["ready"], false) << down.body;
    EXPECT_EQ(http("GET", "/health").status, 200);  // alive, only not ready

    Reply up;
    EXPECT_TRUE(wait_until(
        [&] {
            up = http("GET", "/ready");
            return up.status == 200;
        },
        60s))
        << up.status << up.body;
    EXPECT_EQ(up.json_body["ready"], true);
    auto m = metrics();
    EXPECT_GE(m.value("talkgate_reconnects_total", {{"peer", "ami"}}).value_or(0), 1);
}

// An operator's browser or a Prometheus scraper keeps its connection open between requests:
// SIGTERM must still end talkgate at once, leaving the calls to Asterisk. (cpprestsdk's
// listener close waited on a pool thread for these connections' handlers, which needed the
// same thread: with a pool of one, talkgate hung until SIGKILL.)
TEST_F(TalkgateLabTest, SigtermEndsTalkgateWhileStatusConnectionsStayOpen) {
    start();
    namespace asio = boost::asio;
    asio::io_context io;
    const asio::ip::tcp::endpoint status(asio::ip::make_address("127.0.0.1"), status_port());
    asio::ip::tcp::socket kept_alive(io), silent(io), half_sent(io);
    kept_alive.connect(status);
    silent.connect(status);
    half_sent.connect(status);
    asio::write(kept_alive, asio::buffer(std::string("GET /health HTTP/1.1\r\nHost: t\r\n\r\n")));
    asio::streambuf reply;
    asio::read_until(kept_alive, reply, "\r\n\r\n");  // answered; the connection stays open
    std::istream head(&reply);
    std::string status_line;
    std::getline(head, status_line);
    EXPECT_NE(status_line.find("200"), std::string::npos) << status_line;
    asio::write(half_sent, asio::buffer(std::string("GET /calls HTTP/1.1\r\nHost: t\r\n")));

    const std::string how = process_->stop(15s);
    EXPECT_EQ(how, "exit 0");
    EXPECT_NE(process_->log().find("stay up in Asterisk"), std::string::npos);
    EXPECT_EQ(process_->log().find("did not close"), std::string::npos);
}

// The live web page keeps GET /events open: SIGTERM ends those streams first (the listener's
// close would otherwise wait on them), so talkgate still exits at once.
TEST_F(TalkgateLabTest, SigtermEndsTalkgateWhileLivePageStreamsAreOpen) {
    start();
    auto page = http("GET", "/", std::string());  // the page itself needs no token
    EXPECT_EQ(page.status, 200);
    EXPECT_NE(page.body.find("<form id=\"login\""), std::string::npos);
    auto refused = http("GET", "/events", std::string());
    EXPECT_EQ(refused.status, 401);
    expect_fits_contract("GET", "/events", refused);
    namespace asio = boost::asio;
    asio::io_context io;
    const asio::ip::tcp::endpoint status(asio::ip::make_address("127.0.0.1"), status_port());
    std::vector<std::unique_ptr<asio::ip::tcp::socket>> streams;
    for (int i = 0; i < 2; ++i) {
        auto& s = streams.emplace_back(std::make_unique<asio::ip::tcp::socket>(io));
        s->connect(status);
        asio::write(*s, asio::buffer("GET /events HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " +
                                     token_ + "\r\n\r\n"));
    }
    for (auto& s : streams) {  // each has its head and the controller's first view
        asio::streambuf got;
        asio::read_until(*s, got, "event: view");
        const std::string text(asio::buffers_begin(got.data()), asio::buffers_end(got.data()));
        EXPECT_NE(text.find("text/event-stream"), std::string::npos) << text;
    }

    const std::string how = process_->stop(15s);
    EXPECT_EQ(how, "exit 0");
    EXPECT_EQ(process_->log().find("did not close"), std::string::npos);
    for (auto& s : streams) {  // the server ended each stream: the last chunk, then EOF
        asio::streambuf rest;
        boost::system::error_code ec;
        asio::read(*s, rest, ec);
        EXPECT_EQ(ec, asio::error::eof);
        const std::string text(asio::buffers_begin(rest.data()), asio::buffers_end(rest.data()));
        EXPECT_NE(text.find("0\r\n\r\n"), std::string::npos) << text;
    }
}

}  // namespace
}  // namespace talkgate::test
