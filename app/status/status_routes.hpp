#pragma once

#include "status/status_source.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// The status API's routing without the transport: request fields in, a reply or what to ask
// the controller out. No I/O, no logging, no exception for any input (fuzzed: status_fuzz.routes).
// Standard library and nlohmann/json only: the fuzz target builds it with clang.
namespace talkgate::status {

// One request as it came from the wire, before its body is read.
struct RequestHead {
    std::string method;
    std::string path;   // as sent, percent-encoded
    std::string query;  // as sent, without the '?'
    std::vector<std::pair<std::string, std::string>> headers;
};

// A reply to send as it is.
struct Reply {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type
};

// What a request asks for once its method, path, query and headers are checked.
struct Route {
    enum class Kind {
        reply,      // answered without the controller: /health, every error
        readiness,  // GET /ready
        metrics,    // GET /metrics
        calls,      // GET /calls[?call_uuid=U], GET /calls/{dn}
        answer,     // POST /calls/{dn}/answer, once the body is read and accepted
        trace,      // GET /calls/{id}/trace
        recent,     // GET /calls/recent[?dn=D&call_uuid=U&outcome=O]
        openapi,    // GET /openapi.json (no token: the contract is not a secret)
        page,       // GET /, /page.js, /page.css: the web page (no token: it holds none)
        events,     // GET /events: the web page's live updates (text/event-stream)
    };
    Kind kind = Kind::reply;
    Reply reply;                    // Kind::reply
    std::optional<std::string> dn;  // calls of one DN; the DN to answer
    std::string call_uuid;          // the /calls and /calls/recent filter; empty for every call
    std::string call_key;           // the call a trace is asked for
    std::string outcome;            // the /calls/recent filter; empty for every outcome
    std::string asset;              // Kind::page: index.html, page.js or page.css
    bool all_gateways = false;      // /calls?scope=all: every gateway's calls (Redis)
    std::string what;               // "GET /calls/1002" for logs: escaped and bounded
    bool bad_token = false;         // a wrong bearer token was presented (worth a warning)
};

struct RouteSettings {
    std::string token;                  // STATUS_TOKEN; empty serves /health only
    std::size_t max_body_bytes = 4096;  // larger bodies are 413
};

Route route(const RequestHead& head, const RouteSettings& settings);

// POST /calls/{dn}/answer's body: nullopt when it may be answered (empty, blank or {}),
// else the 4xx to send.
std::optional<Reply> check_answer_body(std::string_view body, const RouteSettings& settings);

// The replies built from the controller's answers.
Reply readiness_reply(const Readiness& readiness);
Reply calls_reply(const Route& route, const std::vector<CallView>& calls);
Reply trace_reply(const std::optional<TraceView>& trace);
Reply recent_reply(const Route& route, const std::vector<RecentCallView>& calls);
Reply answer_reply(const std::string& dn, AnswerOutcome outcome, const std::string& detail);
Reply error_reply(int status, const std::string& message);

// "%41" -> "A"; nullopt for a '%' not followed by two hex digits.
std::optional<std::string> percent_decoded(std::string_view s);

}  // namespace talkgate::status
