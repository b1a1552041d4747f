#include "metrics/talkgate_metrics.hpp"
#include "metrics_exposition_parser.hpp"
#include "polling.hpp"
#include "status/status_server.hpp"
#include "status_test_support.hpp"

#include <gtest/gtest.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <future>
#include <memory>

using nlohmann::json;
using talkgate::status::AnswerOutcome;
using talkgate::status::StatusServer;
using talkgate::status::StatusServerOptions;
using talkgate::test::FakeSource;
using talkgate::test::http_request;
using talkgate::test::make_call;

namespace {

class StatusServerTest : public ::testing::Test {
  protected:
    void start(std::string token = "t0k-3n_for-tests-only",
               std::chrono::milliseconds deadline = std::chrono::milliseconds(2000)) {
        token_ = token;
        StatusServerOptions o;
        o.port = talkgate::test::free_loopback_port();
        o.token = token;
        o.deadline = deadline;
        o.on_handler_error = [this] { ++handler_errors_; };
        server_ = std::make_unique<StatusServer>(o, source_, metrics_.registry);
        std::string error;
        ASSERT_TRUE(server_->start(error)) << error;
        url_ = server_->url();
    }

    talkgate::test::HttpReply get(const std::string& path) {
        return http_request(url_, "GET", path, token_);
    }
    talkgate::test::HttpReply post(const std::string& path, const std::string& body = {}) {
        return http_request(url_, "POST", path, token_, body);
    }
    static json body_of(const talkgate::test::HttpReply& r) { return json::parse(r.body); }

    // Every 4xx/5xx must be a JSON object with a non-empty "error".
    static void expect_json_error(const talkgate::test::HttpReply& r, int status) {
        EXPECT_EQ(r.status, status) << r.body;
        EXPECT_EQ(r.content_type, "application/json") << r.body;
        auto j = json::parse(r.body, nullptr, false);
        ASSERT_TRUE(j.is_object()) << r.body;
        ASSERT_TRUE(j.contains("error")) << r.body;
        EXPECT_FALSE(j["error"].get<std::string>().empty());
    }

    talkgate::metrics::TalkgateMetrics metrics_;
    FakeSource source_;  // declared before server_: outlives it
    std::unique_ptr<StatusServer> server_;
    std::string url_;
    std::string token_;
    std::atomic<int> handler_errors_{0};  // what the server's guard counted
};

}  // namespace

TEST_F(StatusServerTest, HealthNeedsNoToken) {
    start();
    auto r = http_request(url_, "GET", "/health");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(body_of(r), (json{{"status", "ok"}}));
    expect_json_error(http_request(url_, "POST", "/health"), 405);
}

TEST_F(StatusServerTest, EveryOtherRouteNeedsTheBearerToken) {
    start();
    source_.set_calls({make_call("1", "1002", "U1", "Ringing")});
    for (const char* path : {"/ready", "/calls", "/calls/1002", "/metrics", "/nope"}) {
        auto none = http_request(url_, "GET", path);
        expect_json_error(none, 401);
        EXPECT_EQ(none.headers["WWW-Authenticate"].rfind("Bearer", 0), 0u) << path;
        expect_json_error(http_request(url_, "GET", path, "wrong-token"), 401);
        expect_json_error(http_request(url_, "GET", path, {}, {}, "Basic dXNlcjpwYXNz"), 401);
        // A prefix of the token, and the token with a suffix, are not the token.
        expect_json_error(http_request(url_, "GET", path, token_.substr(0, 5)), 401);
        expect_json_error(http_request(url_, "GET", path, token_ + "x"), 401);
    }
    expect_json_error(http_request(url_, "POST", "/calls/1002/answer"), 401);
    EXPECT_TRUE(source_.answer_requests().empty());
    EXPECT_EQ(source_.calls_requests(), 0);

    EXPECT_EQ(get("/calls").status, 200);
    // The scheme is case-insensitive (RFC 7235).
    EXPECT_EQ(http_request(url_, "GET", "/calls", {}, {}, "bearer " + token_).status, 200);
}

TEST_F(StatusServerTest, WithoutATokenOnlyHealthIsServed) {
    start("");
    EXPECT_EQ(http_request(url_, "GET", "/health").status, 200);
    for (const char* path : {"/ready", "/calls", "/calls/1002", "/metrics"}) {
        auto r = http_request(url_, "GET", path, "anything");
        expect_json_error(r, 503);
        EXPECT_NE(body_of(r)["error"].get<std::string>().find("STATUS_TOKEN"), std::string::npos);
    }
    expect_json_error(http_request(url_, "POST", "/calls/1002/answer", "anything"), 503);
    EXPECT_TRUE(source_.answer_requests().empty());
}

TEST_F(StatusServerTest, ReadyReflectsTheRequiredPeers) {
    start();
    auto r = get("/ready");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(body_of(r), (json{{"ready", true},
                                {"role", "active"},
                                {"ari", {{"required", true}, {"up", true}}},
                                {"ami", {{"required", true}, {"up", true}}},
                                {"hep", {{"required", true}, {"up", true}}}}));

    source_.set_readiness({true, true, true, true, true, false});
    r = get("/ready");
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(body_of(r)["ready"], false);
    EXPECT_EQ(body_of(r)["hep"]["up"], false);

    // A peer that is not enabled does not hold readiness back.
    source_.set_readiness({true, true, true, true, false, false});
    EXPECT_EQ(get("/ready").status, 200);
    source_.set_readiness({true, false, true, true, false, false});
    EXPECT_EQ(get("/ready").status, 503);
    source_.set_readiness({true, true, true, false, false, false});
    EXPECT_EQ(get("/ready").status, 503);

    // Active/standby: a standby is ready without its peers, and Redis is never required.
    talkgate::status::Readiness standby{true, false, true, false, true, false};
    standby.standby = true;
    standby.redis_configured = true;
    source_.set_readiness(standby);
    r = get("/ready");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(body_of(r)["role"], "standby");
    EXPECT_EQ(body_of(r)["redis"], (json{{"required", false}, {"up", false}}));
    expect_json_error(post("/ready"), 405);
}

TEST_F(StatusServerTest, CallsListsFiltersByDnAndByCallUuid) {
    start();
    auto a = make_call("a", "1002", "UUID-A", "Ringing");
    auto b = make_call("b", "1002", "UUID-B", "Connected");
    b.answered_ms = 1700000000500;
    b.bridge = "bridge-b";
    b.held = true;
    auto c = make_call("c", "1#3", "UUID-C", "Dialing");
    c.ringing_ms.reset();
    source_.set_calls({a, b, c});

    auto all = get("/calls");
    ASSERT_EQ(all.status, 200);
    auto j = body_of(all);
    EXPECT_EQ(j["count"], 3);
    ASSERT_EQ(j["calls"].size(), 3u);
    EXPECT_EQ(j["calls"][1], (json{{"id", "b"},
                                   {"dn", "1002"},
                                   {"state", "Connected"},
                                   {"call_id", "cid-b@127.0.0.2"},
                                   {"call_uuid", "UUID-B"},
                                   {"genesys_channel", "PJSIP/genesys-b"},
                                   {"agent_channel", "PJSIP/1002-b"},
                                   {"bridge", "bridge-b"},
                                   {"policy", "notify"},
                                   {"held", true},
                                   {"created_ms", 1700000000000},
                                   {"ringing_ms", 1700000000100},
                                   {"notify_talk_ms", nullptr},
                                   {"answered_ms", 1700000000500}}));
    EXPECT_TRUE(j["calls"][2]["ringing_ms"].is_null());

    auto dn = body_of(get("/calls/1002"));
    EXPECT_EQ(dn["dn"], "1002");
    ASSERT_EQ(dn["calls"].size(), 2u);
    EXPECT_EQ(dn["calls"][0]["id"], "a");
    EXPECT_EQ(dn["calls"][1]["id"], "b");

    auto hash = body_of(get("/calls/1%233"));  // '#' travels percent-encoded
    ASSERT_EQ(hash["calls"].size(), 1u);
    EXPECT_EQ(hash["calls"][0]["id"], "c");

    auto none = get("/calls/1009");
    EXPECT_EQ(none.status, 200);
    EXPECT_EQ(body_of(none)["calls"], json::array());

    auto by_uuid = body_of(get("/calls?call_uuid=UUID-B"));
    ASSERT_EQ(by_uuid["calls"].size(), 1u);
    EXPECT_EQ(by_uuid["calls"][0]["id"], "b");
    EXPECT_EQ(body_of(get("/calls?call_uuid=nope"))["count"], 0);
}

TEST_F(StatusServerTest, TraceAndRecentCallsAskTheSource) {
    start();
    talkgate::status::TraceView t;
    t.call = make_call("g1", "1002", "UUID-A", "ended");
    t.live = false;
    t.outcome = "genesys_hangup";
    talkgate::status::TraceStepView step;
    step.step = "answer_action";
    step.source = "pjsip_notify";
    step.outcome = "ok";
    step.latency_ms = 2.5;
    t.steps = {step};
    source_.set_trace(t);
    talkgate::status::RecentCallView recent;
    recent.call = t.call;
    recent.outcome = "genesys_hangup";
    recent.steps = 1;
    source_.set_recent({recent});

    auto trace = get("/calls/g1/trace");
    ASSERT_EQ(trace.status, 200) << trace.body;
    auto j = body_of(trace);
    EXPECT_EQ(j["id"], "g1");
    EXPECT_EQ(j["live"], false);
    EXPECT_EQ(j["steps"][0]["latency_ms"], 2.5);
    expect_json_error(get("/calls/nope/trace"), 404);
    auto list = body_of(get("/calls/recent?outcome=genesys_hangup"));
    EXPECT_EQ(list["count"], 1);
    EXPECT_EQ(list["calls"][0]["outcome"], "genesys_hangup");
    EXPECT_EQ(body_of(get("/calls/recent?dn=1003"))["count"], 0);
    source_.set_mode(FakeSource::Mode::throwing);
    expect_json_error(get("/calls/g1/trace"), 500);
    expect_json_error(get("/calls/recent"), 500);
}

TEST_F(StatusServerTest, BadInputGetsA4xxWithAJsonError) {
    start();
    for (const char* path :
         {"/calls/10%2002", "/calls/1002;drop", "/calls/%C3%A9",
          "/calls/123456789012345678901234567890123", "/calls/a%2Fb", "/calls/1002%00"}) {
        SCOPED_TRACE(path);
        expect_json_error(get(path), 400);
    }
    expect_json_error(get("/calls/12345678901234567890123456789012345/answer"), 400);
    expect_json_error(post("/calls/10%2002/answer"), 400);
    expect_json_error(get("/calls?dn=1002"), 400);
    expect_json_error(get("/calls?call_uuid="), 400);
    expect_json_error(get("/calls?call_uuid=a%20b"), 400);
    expect_json_error(get("/nope"), 404);
    expect_json_error(get("/index.htm"), 404);
    expect_json_error(get("/calls/1002/hangup"), 404);
    expect_json_error(get("/calls/1002/answer"), 405);
    expect_json_error(post("/calls"), 405);
    expect_json_error(http_request(url_, "DELETE", "/calls/1002", token_), 405);
    EXPECT_TRUE(source_.answer_requests().empty());
    // A 32-character DN is still a DN.
    EXPECT_EQ(get("/calls/12345678901234567890123456789012").status, 200);
}

TEST_F(StatusServerTest, AnswerAsksTheSourceAndMapsItsOutcome) {
    start();
    source_.set_answer("1002", AnswerOutcome::requested);
    source_.set_answer("1003", AnswerOutcome::not_ringing);

    auto ok = post("/calls/1002/answer");
    EXPECT_EQ(ok.status, 202) << ok.body;
    EXPECT_EQ(body_of(ok)["result"], "requested");
    EXPECT_EQ(body_of(ok)["dn"], "1002");
    EXPECT_EQ(body_of(ok)["detail"], "fake source, DN 1002");
    EXPECT_EQ(post("/calls/1002/answer", "{}").status, 202);
    EXPECT_EQ(post("/calls/1002/answer", "  \n").status, 202);

    auto busy = post("/calls/1003/answer");
    expect_json_error(busy, 409);
    EXPECT_EQ(body_of(busy)["result"], "not_ringing");
    auto missing = post("/calls/1004/answer");
    expect_json_error(missing, 404);
    EXPECT_EQ(body_of(missing)["result"], "no_such_call");

    EXPECT_EQ(source_.answer_requests(),
              (std::vector<std::string>{"1002", "1002", "1002", "1003", "1004"}));

    for (const char* body : {"{", "{\"a\":", "[]", "\"x\"", "42", "{\"call_uuid\":\"U\"}", "nul"}) {
        SCOPED_TRACE(body);
        expect_json_error(post("/calls/1002/answer", body), 400);
    }
    expect_json_error(post("/calls/1002/answer", std::string(10000, ' ')), 413);
    EXPECT_EQ(source_.answer_requests().size(), 5u);
}

TEST_F(StatusServerTest, CallbacksFromAnotherThreadAreServed) {
    start();
    source_.set_mode(FakeSource::Mode::other_thread);
    source_.set_calls({make_call("a", "1002", "U", "Ringing")});
    source_.set_answer("1002", AnswerOutcome::requested);
    EXPECT_EQ(body_of(get("/calls"))["count"], 1);
    EXPECT_EQ(post("/calls/1002/answer").status, 202);
}

TEST_F(StatusServerTest, ASilentSourceGets503AfterTheDeadline) {
    start("tok", std::chrono::milliseconds(200));
    source_.set_mode(FakeSource::Mode::never);
    source_.set_answer("1002", AnswerOutcome::requested);
    auto r = get("/calls");
    expect_json_error(r, 503);
    EXPECT_NE(body_of(r)["error"].get<std::string>().find("in time"), std::string::npos);
    expect_json_error(post("/calls/1002/answer"), 503);
    // Late answers are dropped without harm, and the server keeps serving.
    source_.release_withheld();
    source_.set_mode(FakeSource::Mode::inline_reply);
    EXPECT_EQ(get("/calls").status, 200);
    EXPECT_EQ(post("/calls/1002/answer").status, 202);
}

TEST_F(StatusServerTest, StopAnswersRequestsStillWaitingOnTheSource) {
    start("tok", std::chrono::milliseconds(30000));
    source_.set_mode(FakeSource::Mode::never);
    auto waiting = std::async(std::launch::async, [&] { return get("/calls"); });
    talkgate::test::wait_until([&] { return source_.calls_requests() != 0; },
                               std::chrono::seconds(2), std::chrono::milliseconds(10));
    ASSERT_EQ(source_.calls_requests(), 1);
    server_->stop();
    ASSERT_EQ(waiting.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    expect_json_error(waiting.get(), 503);
    source_.release_withheld();  // after stop: must not reply twice or crash
    server_->stop();             // idempotent
}

TEST_F(StatusServerTest, MetricsAreThePrometheusExposition) {
    start();
    metrics_.notify("talk", "hep");
    metrics_.notify("talk", "hep");
    metrics_.set_connection(talkgate::metrics::Peer::ari, true);
    auto r = get("/metrics");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    auto parsed = talkgate::test::parse_prometheus_text(r.body);
    ASSERT_TRUE(parsed.ok()) << parsed.error << " at line " << parsed.error_line;
    EXPECT_EQ(
        parsed.value("talkgate_notify_received_total", {{"event", "talk"}, {"source", "hep"}}),
        2.0);
    EXPECT_EQ(parsed.value("talkgate_connection_up", {{"peer", "ari"}}), 1.0);

    metrics_.notify("talk", "hep");
    auto again = talkgate::test::parse_prometheus_text(get("/metrics").body);
    EXPECT_EQ(again.value("talkgate_notify_received_total", {{"event", "talk"}, {"source", "hep"}}),
              3.0);
}

TEST_F(StatusServerTest, ListensOnLoopbackOnlyByDefault) {
    start();
    auto port = static_cast<unsigned short>(std::stoi(url_.substr(url_.rfind(':') + 1)));
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket s(io);
    boost::system::error_code ec;
    s.connect({boost::asio::ip::make_address("127.0.0.1"), port}, ec);
    EXPECT_FALSE(ec) << ec.message();
    s.close();
    // Bound to 127.0.0.1, not to every address: 127.0.0.2 (also this host) is refused.
    boost::asio::ip::tcp::socket other(io);
    other.connect({boost::asio::ip::make_address("127.0.0.2"), port}, ec);
    EXPECT_EQ(ec, boost::asio::error::connection_refused) << ec.message();
}

TEST_F(StatusServerTest, StartFailsClearlyWhenThePortIsTaken) {
    // Another process's socket (here a plain acceptor) holds the port.
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor holder(
        io, {boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(0)});
    StatusServerOptions o;
    o.port = holder.local_endpoint().port();
    o.token = "x";
    StatusServer server(o, source_, metrics_.registry);
    std::string error;
    EXPECT_FALSE(server.start(error));
    EXPECT_NE(error.find("cannot listen on 127.0.0.1:" + std::to_string(o.port)), std::string::npos)
        << error;
    holder.close();
    // Once the port is free, the same settings work.
    StatusServer again(o, source_, metrics_.registry);
    EXPECT_TRUE(again.start(error)) << error;
    EXPECT_EQ(http_request(again.url(), "GET", "/health").status, 200);
}

// Issue 11 regression: a CallUUID that is not UTF-8 once ended the process on the
// controller's thread (nlohmann type_error 316 while serializing /calls).
TEST_F(StatusServerTest, CallsWithANonUtf8CallUuidAnswerValidJson) {
    start();
    auto bad = make_call("a", "1002", std::string("\xe9\xff", 2), "Ringing");
    source_.set_calls({bad});
    auto r = get("/calls");
    ASSERT_EQ(r.status, 200);
    auto j = body_of(r);
    ASSERT_EQ(j["count"], 1);
    const std::string uuid = j["calls"][0]["call_uuid"];
    EXPECT_NE(uuid.find("\xef\xbf\xbd"), std::string::npos) << "bad bytes become U+FFFD";
    EXPECT_EQ(get("/health").status, 200) << "the server still answers";
}

// Issue 11: a source that throws (a controller bug) costs its request a 500, is counted, and
// the next request is served as usual.
TEST_F(StatusServerTest, ASourceThatThrowsGets500IsCountedAndTheServerGoesOn) {
    start();
    source_.set_answer("1002", AnswerOutcome::requested);
    source_.set_mode(FakeSource::Mode::throwing);
    expect_json_error(get("/calls"), 500);
    expect_json_error(get("/calls/1002"), 500);
    expect_json_error(get("/ready"), 500);
    expect_json_error(post("/calls/1002/answer"), 500);
    EXPECT_EQ(handler_errors_.load(), 4);

    source_.set_mode(FakeSource::Mode::inline_reply);
    EXPECT_EQ(get("/calls").status, 200);
    EXPECT_EQ(get("/ready").status, 200);
    EXPECT_EQ(post("/calls/1002/answer").status, 202);
    EXPECT_EQ(handler_errors_.load(), 4) << "nothing more was unexpected";
}
