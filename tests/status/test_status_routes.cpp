#include "status/status_routes.hpp"
#include "wire/wire_text.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using nlohmann::json;
using talkgate::status::AnswerOutcome;
using talkgate::status::CallView;
using talkgate::status::RequestHead;
using talkgate::status::Route;
using talkgate::status::RouteSettings;

namespace {

const RouteSettings kSettings{"route-test-token-0123456789", 4096};

RequestHead head(std::string method, std::string path, std::string query = {},
                 std::vector<std::pair<std::string, std::string>> headers = {
                     {"Authorization", "Bearer route-test-token-0123456789"}}) {
    return {std::move(method), std::move(path), std::move(query), std::move(headers)};
}

// An error reply is a JSON object with a non-empty "error", whatever bytes came in.
void expect_error(const Route& r, int status) {
    EXPECT_EQ(r.kind, Route::Kind::reply);
    EXPECT_EQ(r.reply.status, status) << r.reply.body;
    EXPECT_TRUE(talkgate::wire::is_utf8(r.reply.body)) << r.reply.body;
    auto j = json::parse(r.reply.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.reply.body;
    EXPECT_FALSE(j.value("error", "").empty()) << r.reply.body;
}

TEST(StatusRoutes, HealthNeedsNoTokenAndOnlyGet) {
    auto r = talkgate::status::route(head("GET", "/health", "", {}), kSettings);
    EXPECT_EQ(r.kind, Route::Kind::reply);
    EXPECT_EQ(r.reply.status, 200);
    EXPECT_EQ(json::parse(r.reply.body), (json{{"status", "ok"}}));
    expect_error(talkgate::status::route(head("POST", "/health", "", {}), kSettings), 405);
}

TEST(StatusRoutes, EveryOtherRouteNeedsTheBearerToken) {
    auto none = talkgate::status::route(head("GET", "/calls", "", {}), kSettings);
    expect_error(none, 401);
    EXPECT_FALSE(none.bad_token) << "no token is not a guess";
    for (const char* value :
         {"Bearer wrong", "Basic route-test-token-0123456789", "Bearer",
          "Bearer  route-test-token-0123456789", "Bearer route-test-token-012345678",
          "Bearer route-test-token-0123456789\xff"}) {
        SCOPED_TRACE(value);
        auto r = talkgate::status::route(head("GET", "/calls", "", {{"Authorization", value}}),
                                         kSettings);
        expect_error(r, 401);
        EXPECT_TRUE(r.bad_token);
    }
    // The scheme and the header name are case-insensitive; the token is not.
    EXPECT_EQ(
        talkgate::status::route(
            head("GET", "/calls", "", {{"authorization", "bearer route-test-token-0123456789"}}),
            kSettings)
            .kind,
        Route::Kind::calls);
    RouteSettings no_token{"", 4096};
    expect_error(talkgate::status::route(head("GET", "/calls"), no_token), 503);
}

TEST(StatusRoutes, RoutesAndTheirFilters) {
    EXPECT_EQ(talkgate::status::route(head("GET", "/ready"), kSettings).kind,
              Route::Kind::readiness);
    EXPECT_EQ(talkgate::status::route(head("GET", "/metrics"), kSettings).kind,
              Route::Kind::metrics);
    auto all = talkgate::status::route(head("GET", "/calls/"), kSettings);
    EXPECT_EQ(all.kind, Route::Kind::calls);
    EXPECT_FALSE(all.dn);
    EXPECT_EQ(all.call_uuid, "");
    auto by_uuid = talkgate::status::route(head("GET", "/calls", "call_uuid=U%2D1&"), kSettings);
    EXPECT_EQ(by_uuid.kind, Route::Kind::calls);
    EXPECT_EQ(by_uuid.call_uuid, "U-1");
    auto of_dn = talkgate::status::route(head("GET", "//calls/%31002"), kSettings);
    EXPECT_EQ(of_dn.kind, Route::Kind::calls);
    EXPECT_EQ(of_dn.dn.value_or(""), "1002");
    auto answer = talkgate::status::route(head("POST", "/calls/1002/answer"), kSettings);
    EXPECT_EQ(answer.kind, Route::Kind::answer);
    EXPECT_EQ(answer.dn.value_or(""), "1002");
    EXPECT_EQ(answer.what, "POST /calls/1002/answer");
}

TEST(StatusRoutes, ScopeAllAsksForEveryGatewaysCalls) {
    EXPECT_FALSE(talkgate::status::route(head("GET", "/calls"), kSettings).all_gateways);
    auto every = talkgate::status::route(head("GET", "/calls", "scope=all&call_uuid=U"), kSettings);
    EXPECT_EQ(every.kind, Route::Kind::calls);
    EXPECT_TRUE(every.all_gateways);
    EXPECT_EQ(every.call_uuid, "U");
    auto of_dn = talkgate::status::route(head("GET", "/calls/1003", "scope=all"), kSettings);
    EXPECT_EQ(of_dn.kind, Route::Kind::calls);
    EXPECT_TRUE(of_dn.all_gateways);
    EXPECT_EQ(of_dn.dn.value_or(""), "1003");
    EXPECT_FALSE(
        talkgate::status::route(head("GET", "/calls/1003", "scope=local"), kSettings).all_gateways);
    for (const char* query : {"scope=", "scope=everything", "call_uuid=U"}) {
        SCOPED_TRACE(query);
        expect_error(talkgate::status::route(head("GET", "/calls/1003", query), kSettings), 400);
    }
    expect_error(talkgate::status::route(head("GET", "/calls/recent", "scope=all"), kSettings),
                 400);
}

TEST(StatusRoutes, TraceAndRecentCallsRoutesAndFilters) {
    auto trace = talkgate::status::route(head("GET", "/calls/1733000000.42/trace"), kSettings);
    EXPECT_EQ(trace.kind, Route::Kind::trace);
    EXPECT_EQ(trace.call_key, "1733000000.42");
    expect_error(talkgate::status::route(head("POST", "/calls/1.2/trace"), kSettings), 405);
    expect_error(talkgate::status::route(head("GET", "/calls/%E9%FF/trace"), kSettings), 400);
    expect_error(talkgate::status::route(head("GET", "/calls/" + std::string(129, 'x') + "/trace"),
                                         kSettings),
                 400);
    auto recent = talkgate::status::route(
        head("GET", "/calls/recent", "dn=1002&call_uuid=U-1&outcome=busy"), kSettings);
    EXPECT_EQ(recent.kind, Route::Kind::recent);
    EXPECT_EQ(recent.dn.value_or(""), "1002");
    EXPECT_EQ(recent.call_uuid, "U-1");
    EXPECT_EQ(recent.outcome, "busy");
    for (const char* query :
         {"dn=10%2002", "outcome=a%20b", "outcome=", "state=ended", "call_uuid=%ff",
          "dn="
          "\xe9"}) {
        SCOPED_TRACE(query);
        expect_error(talkgate::status::route(head("GET", "/calls/recent", query), kSettings), 400);
    }
    expect_error(talkgate::status::route(head("DELETE", "/calls/recent"), kSettings), 405);
    // /calls takes no dn or outcome filter: those are for recent calls.
    expect_error(talkgate::status::route(head("GET", "/calls", "outcome=busy"), kSettings), 400);
}

TEST(StatusRoutes, TraceAndRecentRepliesAreValidJsonAndFiltered) {
    using talkgate::status::RecentCallView;
    using talkgate::status::TraceView;
    EXPECT_EQ(talkgate::status::trace_reply(std::nullopt).status, 404);
    TraceView t;
    t.call.id = "g1";
    t.call.call_uuid = std::string("\xe9", 1);
    t.live = false;
    t.outcome = "busy";
    t.ended_ms = 5;
    talkgate::status::TraceStepView s;
    s.t_ms = 1.5;
    s.step = "notify";
    s.event = "talk";
    s.source = std::string("h\xffp", 3);
    s.duplicate = true;
    t.steps.push_back(s);
    auto r = talkgate::status::trace_reply(t);
    EXPECT_EQ(r.status, 200);
    auto j = json::parse(r.body);
    EXPECT_EQ(j["outcome"], "busy");
    EXPECT_EQ(j["steps"][0]["duplicate"], true);
    EXPECT_EQ(j["steps"][0]["t_ms"], 1.5);
    EXPECT_FALSE(j["steps"][0].contains("latency_ms"));

    RecentCallView a, b;
    a.call.id = "a";
    a.call.dn = "1002";
    a.outcome = "busy";
    b.call.id = "b";
    b.call.dn = "1003";
    b.call.call_uuid = "U-B";
    b.outcome = "genesys_hangup";
    Route f;
    EXPECT_EQ(json::parse(talkgate::status::recent_reply(f, {a, b}).body)["count"], 2);
    f.outcome = "busy";
    EXPECT_EQ(json::parse(talkgate::status::recent_reply(f, {a, b}).body)["calls"][0]["id"], "a");
    f.outcome.clear();
    f.dn = "1003";
    EXPECT_EQ(json::parse(talkgate::status::recent_reply(f, {a, b}).body)["calls"][0]["id"], "b");
    f.call_uuid = "U-X";
    EXPECT_EQ(json::parse(talkgate::status::recent_reply(f, {a, b}).body)["count"], 0);
}

TEST(StatusRoutes, BadBytesAnywhereGetA4xxWithValidJson) {
    for (const char* path : {"/calls/%zz", "/calls/%4", "/calls/%", "/calls/\xe9\xff",
                             "/calls/%E9%FF", "/calls/1002%00", "/calls/a%2Fb"}) {
        SCOPED_TRACE(talkgate::wire::escaped(path));
        expect_error(talkgate::status::route(head("GET", path), kSettings), 400);
    }
    auto unknown = talkgate::status::route(head("GET", "/\xe9\xff\n"), kSettings);
    expect_error(unknown, 404);
    EXPECT_EQ(json::parse(unknown.reply.body)["error"], "no such route: /\\xe9\\xff\\x0a");
    EXPECT_EQ(unknown.what, "GET /\\xe9\\xff\\x0a") << "escaped for logs";
    expect_error(talkgate::status::route(head("\xff\xfe", "/calls"), kSettings), 405);
    for (const char* query : {"call_uuid=%ff", "call_uuid=\xe9", "call_uuid=", "call_uuid",
                              "dn=1002", "%zz=1", "call_uuid=%"}) {
        SCOPED_TRACE(talkgate::wire::escaped(query));
        expect_error(talkgate::status::route(head("GET", "/calls", query), kSettings), 400);
    }
}

TEST(StatusRoutes, AnswerBodiesAreCheckedBeforeAndAfterReading) {
    auto sized = [](const char* length) {
        return talkgate::status::route(
            head("POST", "/calls/1002/answer", "",
                 {{"Authorization", "Bearer route-test-token-0123456789"},
                  {"content-length", length}}),
            kSettings);
    };
    EXPECT_EQ(sized("4096").kind, Route::Kind::answer);
    expect_error(sized("4097"), 413);
    expect_error(sized("99999999999999999999"), 400);
    expect_error(sized("-1"), 400);
    expect_error(sized("1e3"), 400);

    for (std::string_view ok : {std::string_view(""), std::string_view(" \r\n\t"),
                                std::string_view("{}"), std::string_view(" { } ")}) {
        EXPECT_FALSE(talkgate::status::check_answer_body(ok, kSettings)) << ok;
    }
    for (std::string_view bad : {std::string_view("{"), std::string_view("[]"),
                                 std::string_view("\xe9\xff"), std::string_view("{\"\xff\":1}"),
                                 std::string_view("{\"a\":1}"), std::string_view("\0{}", 3)}) {
        SCOPED_TRACE(talkgate::wire::escaped(bad));
        auto error = talkgate::status::check_answer_body(bad, kSettings);
        ASSERT_TRUE(error);
        EXPECT_EQ(error->status, 400);
        EXPECT_TRUE(talkgate::wire::is_utf8(error->body)) << error->body;
    }
    auto big = talkgate::status::check_answer_body(std::string(4097, ' '), kSettings);
    ASSERT_TRUE(big);
    EXPECT_EQ(big->status, 413);
}

TEST(StatusRoutes, RepliesFromTheControllerAreValidJsonWhateverTheCallHolds) {
    CallView a;
    a.id = "a";
    a.dn = "1002";
    a.call_uuid = std::string("\xe9\xff", 2);
    CallView b = a;
    b.id = "b";
    b.dn = "1003";
    b.call_uuid = "U-B";
    auto all = talkgate::status::calls_reply(Route{}, {a, b});
    EXPECT_EQ(all.status, 200);
    EXPECT_EQ(json::parse(all.body)["count"], 2);
    Route of_dn;
    of_dn.dn = "1002";
    auto j = json::parse(talkgate::status::calls_reply(of_dn, {a, b}).body);
    EXPECT_EQ(j["dn"], "1002");
    EXPECT_EQ(j["count"], 1);
    EXPECT_EQ(j["calls"][0]["call_uuid"], "\xef\xbf\xbd\xef\xbf\xbd");
    Route by_uuid;
    by_uuid.call_uuid = "U-B";
    EXPECT_EQ(json::parse(talkgate::status::calls_reply(by_uuid, {a, b}).body)["calls"][0]["id"],
              "b");

    EXPECT_EQ(talkgate::status::answer_reply("1002", AnswerOutcome::requested, "\xff").status, 202);
    EXPECT_EQ(talkgate::status::answer_reply("1002", AnswerOutcome::no_such_call, "").status, 404);
    EXPECT_EQ(talkgate::status::answer_reply("1002", AnswerOutcome::not_ringing, "").status, 409);
    EXPECT_EQ(talkgate::status::readiness_reply({true, false, false, false, false, false}).status,
              503);
}

}  // namespace
