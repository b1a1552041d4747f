// The contracts: the status API's OpenAPI document (compiled in, served at /openapi.json) and
// the bridge API's (docs/), each a valid OpenAPI 3 document whose $refs resolve, and the status
// API's replies fit the schemas the document gives them.
#include "lab_env.hpp"
#include "metrics/talkgate_metrics.hpp"
#include "openapi_check.hpp"
#include "status/live_events.hpp"
#include "status/openapi_document.hpp"
#include "status/status_json.hpp"
#include "status/status_routes.hpp"
#include "status/status_server.hpp"
#include "status_test_support.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

namespace talkgate::test {
namespace {

using nlohmann::json;

json read_json(const std::string& relative) {
    std::ifstream in(source_dir() + "/" + relative);
    std::ostringstream text;
    text << in.rdbuf();
    return json::parse(text.str(), nullptr, false);
}

std::string joined(const std::vector<std::string>& problems) {
    std::string out;
    for (const auto& p : problems) out += p + "\n";
    return out;
}

TEST(OpenApi, BothDocumentsAreValidOpenApi3WithEveryRefResolved) {
    for (const char* file : {"app/status/openapi.json", "docs/bridge-api.openapi.json"}) {
        SCOPED_TRACE(file);
        const json doc = read_json(file);
        ASSERT_FALSE(doc.is_discarded()) << "not JSON";
        EXPECT_EQ(joined(openapi_problems(doc)), "");
    }
    const json bridge = read_json("docs/bridge-api.openapi.json");
    EXPECT_NE(bridge["paths"]["/answer/{dn}"]["post"]["description"].get<std::string>().find(
                  "Idempotent"),
              std::string::npos);
    EXPECT_EQ(bridge["components"]["schemas"]["GenesysCallNotify"]["required"].size(), 4u);
}

TEST(OpenApi, TheCheckerFindsWhatIsWrong) {
    json doc = read_json("app/status/openapi.json");
    doc["paths"]["/health"]["get"]["responses"]["200"] = {{"$ref", "#/components/responses/Nope"}};
    doc.erase("info");
    EXPECT_EQ(openapi_problems(doc).size(), 3u) << joined(openapi_problems(doc));
    const json& call = doc["components"]["schemas"]["Call"];
    json bad = {{"id", 1}, {"state", "flying"}, {"ringing_ms", nullptr}};
    const auto problems = schema_problems(doc, call, bad);
    EXPECT_GE(problems.size(), 10u) << joined(problems);  // missing fields, wrong type, enum
    std::string error;
    EXPECT_EQ(response_schema(doc, "GET", "/nope", 200, "application/json", error), nullptr);
    EXPECT_EQ(response_schema(doc, "GET", "/calls", 418, "application/json", error), nullptr);
}

// Every status route's replies, as the routing and the reply builders make them from calls
// with every field set (and some bytes that are not UTF-8), fit the document.
TEST(OpenApi, EveryStatusReplyFitsItsSchema) {
    const json doc = read_json("app/status/openapi.json");
    const status::RouteSettings settings{"openapi-test-token-0123456789", 4096};
    auto head = [&](const std::string& method, const std::string& path,
                    const std::string& query = "") {
        return status::RequestHead{
            method, path, query, {{"Authorization", "Bearer " + settings.token}}};
    };
    status::CallView c = make_call("g1", "1002", std::string("\xe9U", 2), "ringing");
    c.answered_ms = 5;
    status::TraceView t;
    t.call = c;
    t.live = false;
    t.outcome = "busy";
    t.ended_ms = 9;
    status::TraceStepView s;
    s.step = "answer_action";
    s.source = "pjsip_notify";
    s.outcome = "ok";
    s.latency_ms = 1.5;
    status::TraceStepView n;
    n.step = "notify";
    n.event = "talk";
    t.steps = {s, n};
    status::RecentCallView r{c, "busy", 9, 2};

    struct Case {
        std::string method, path;
        status::Reply reply;
    };
    std::vector<Case> cases = {
        {"GET", "/health", status::route(head("GET", "/health"), settings).reply},
        {"GET", "/ready", status::readiness_reply({true, false, true, true, false, false})},
        {"GET", "/ready", status::readiness_reply({true, true, true, true, false, false})},
        {"GET", "/calls", status::calls_reply({}, {c, c})},
        {"GET", "/calls/1002",
         status::calls_reply(status::route(head("GET", "/calls/1002"), settings), {c})},
        {"GET", "/calls/recent", status::recent_reply({}, {r})},
        {"GET", "/calls/g1/trace", status::trace_reply(t)},
        {"GET", "/calls/g1/trace", status::trace_reply(std::nullopt)},
        {"POST", "/calls/1002/answer",
         status::answer_reply("1002", status::AnswerOutcome::requested, "d")},
        {"POST", "/calls/1002/answer",
         status::answer_reply("1002", status::AnswerOutcome::no_such_call, "d")},
        {"POST", "/calls/1002/answer",
         status::answer_reply("1002", status::AnswerOutcome::not_ringing, "d")},
        {"GET", "/calls", status::route(head("GET", "/calls", "x=1"), settings).reply},
        {"GET", "/calls/recent",
         status::route(head("GET", "/calls/recent", "dn=%zz"), settings).reply},
        {"DELETE", "/calls/recent", status::route(head("DELETE", "/calls/recent"), settings).reply},
        {"GET", "/calls", status::route({"GET", "/calls", "", {}}, settings).reply},
        {"GET", "/calls/1002", status::route({"GET", "/calls/1002", "", {}}, {"", 4096}).reply},
    };
    for (auto& k : cases) {
        SCOPED_TRACE(k.method + " " + k.path + " " + std::to_string(k.reply.status) + " " +
                     k.reply.body);
        std::string method = k.method;
        // A 405 is documented on the route's own method: the reply is the same Error.
        if (k.reply.status == 405) method = "GET";
        std::string error;
        const json* schema =
            response_schema(doc, method, k.path, k.reply.status, k.reply.content_type, error);
        ASSERT_NE(schema, nullptr) << error;
        const json body = json::parse(k.reply.body, nullptr, false);
        ASSERT_FALSE(body.is_discarded());
        EXPECT_EQ(joined(schema_problems(doc, *schema, body)), "");
    }
}

// GET /events carries LiveViews: each event's data is one, fitting the document's schema.
TEST(OpenApi, TheLivePagesEventsCarryLiveViewsThatFitTheirSchema) {
    const json doc = read_json("app/status/openapi.json");
    status::LiveView v;
    v.seq = 7;
    v.now_ms = 1700000000000;
    status::CallView c = make_call("g1", "1002", std::string("\xe9U\nnext", 6), "ringing");
    v.calls = {c};
    v.recent = {status::RecentCallView{c, "genesys_hangup", 9, 11}};
    v.latency = {{"1002", 2, 8.5, 12.25, 12.25, 8.5}};
    v.latency_window_s = 3600;
    EXPECT_EQ(
        joined(schema_problems(doc, doc["components"]["schemas"]["LiveView"], status::to_json(v))),
        "");
    const std::string frame = status::live_event_frame(v);
    const std::string head = "event: view\nid: 7\ndata: ";
    ASSERT_EQ(frame.substr(0, head.size()), head);
    ASSERT_EQ(frame.substr(frame.size() - 2), "\n\n");
    const std::string data = frame.substr(head.size(), frame.size() - head.size() - 2);
    EXPECT_EQ(data.find('\n'), std::string::npos);  // one data line, whatever the wire sent
    const json parsed = json::parse(data, nullptr, false);
    EXPECT_EQ(joined(schema_problems(doc, doc["components"]["schemas"]["LiveView"], parsed)), "");
    EXPECT_EQ(parsed["latency"][0]["p95_ms"], 12.25);
}

TEST(OpenApi, TheStatusServerServesTheCompiledInDocumentWithoutAToken) {
    metrics::TalkgateMetrics metrics;
    FakeSource source;
    status::StatusServerOptions o;
    o.port = free_loopback_port();
    o.token = "openapi-test-token-0123456789";
    status::StatusServer server(o, source, metrics.registry);
    std::string error;
    ASSERT_TRUE(server.start(error)) << error;
    auto reply = http_request(server.url(), "GET", "/openapi.json");
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.content_type, "application/json");
    EXPECT_EQ(json::parse(reply.body, nullptr, false), read_json("app/status/openapi.json"));
    EXPECT_EQ(json::parse(status::openapi_document()), read_json("app/status/openapi.json"));
    EXPECT_EQ(http_request(server.url(), "POST", "/openapi.json").status, 405);
}

}  // namespace
}  // namespace talkgate::test
