#include "status/status_routes.hpp"

#include "status/status_json.hpp"
#include "wire/json_text.hpp"
#include "wire/wire_text.hpp"

#include <nlohmann/json.hpp>

namespace talkgate::status {

using json = nlohmann::json;

namespace {

// Compares in time independent of where the strings differ (length leaks, content does not).
bool constant_time_equal(std::string_view a, std::string_view b) {
    const std::size_t n = std::max(a.size(), b.size());
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (std::size_t i = 0; i < n; ++i) {
        const auto x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
        const auto y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
        diff |= static_cast<unsigned char>(x ^ y);
    }
    return diff == 0;
}

char lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool same_name(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

const std::string* header(const RequestHead& head, std::string_view name) {
    for (const auto& [n, v] : head.headers) {
        if (same_name(n, name)) return &v;
    }
    return nullptr;
}

// Content-Length as digits; nullopt when absent, not a number or absurdly large.
std::optional<std::size_t> content_length(const RequestHead& head) {
    const std::string* v = header(head, "Content-Length");
    if (!v || v->empty() || v->size() > 12) return std::nullopt;
    std::size_t n = 0;
    for (char c : *v) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + static_cast<std::size_t>(c - '0');
    }
    return n;
}

Reply json_reply(int status, const json& body) {
    Reply r;
    r.status = status;
    r.body = wire::json_text(body);
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
}

Route replied(Reply reply, std::string what) {
    Route r;
    r.reply = std::move(reply);
    r.what = std::move(what);
    return r;
}

// Path segments, percent-decoded; empty segments are skipped ("/calls/" is "/calls").
std::optional<std::vector<std::string>> segments_of(std::string_view path) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= path.size()) {
        auto end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        if (end > start) {
            auto s = percent_decoded(path.substr(start, end - start));
            if (!s) return std::nullopt;
            out.push_back(std::move(*s));
        }
        start = end + 1;
    }
    return out;
}

Reply method_not_allowed(const std::string& method, const char* allow) {
    auto r = error_reply(405, "method " + wire::escaped(method, 16) + " not allowed here");
    r.headers.emplace_back("Allow", allow);
    return r;
}

// Why the Authorization header does not carry the token; empty when it does.
const char* token_problem(const RequestHead& head, const std::string& token) {
    const std::string* value = header(head, "Authorization");
    if (!value) return "missing Authorization: Bearer token";
    const std::string_view scheme = "bearer ";
    const std::string_view v(*value);
    bool is_bearer = v.size() > scheme.size();
    for (std::size_t i = 0; is_bearer && i < scheme.size(); ++i) {
        is_bearer = lower(v[i]) == scheme[i];
    }
    if (!is_bearer || !constant_time_equal(v.substr(scheme.size()), token))
        return "invalid bearer token";
    return "";
}

// Which query keys a route takes.
struct QueryKeys {
    bool call_uuid = false;
    bool dn_outcome = false;  // /calls/recent's dn and outcome
    bool scope = false;       // scope=local|all
};

// A query's filters; false with `error` set for a key the route does not take or a value that
// is not what the key needs.
bool filters_of(std::string_view query, QueryKeys keys, Route& r, Reply& error) {
    const bool more = keys.dn_outcome;
    std::size_t start = 0;
    while (start < query.size()) {
        auto end = query.find('&', start);
        if (end == std::string_view::npos) end = query.size();
        const auto pair = query.substr(start, end - start);
        start = end + 1;
        if (pair.empty()) continue;
        const auto eq = pair.find('=');
        const auto key = percent_decoded(pair.substr(0, eq));
        auto value = percent_decoded(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
        if (keys.scope && key && *key == "scope") {
            if (!value || (*value != "all" && *value != "local")) {
                error = error_reply(400, "invalid scope: expected local or all");
                return false;
            }
            r.all_gateways = *value == "all";
        } else if (keys.call_uuid && key && *key == "call_uuid") {
            if (!value || !wire::valid_call_uuid(*value)) {
                error = error_reply(
                    400, "invalid call_uuid: expected 1 to 128 visible ASCII characters");
                return false;
            }
            r.call_uuid = std::move(*value);
        } else if (more && key && *key == "dn") {
            if (!value || !wire::valid_dn(*value)) {
                error = error_reply(400, "invalid dn: expected 1 to 32 of [0-9A-Za-z*#+_.-]");
                return false;
            }
            r.dn = std::move(*value);
        } else if (more && key && *key == "outcome") {
            if (!value || !wire::is_token(*value, 40)) {
                error = error_reply(400, "invalid outcome: expected a word such as genesys_hangup");
                return false;
            }
            r.outcome = std::move(*value);
        } else {
            std::string known;
            for (auto [on, name] :
                 {std::pair{keys.dn_outcome, "dn"}, std::pair{keys.call_uuid, "call_uuid"},
                  std::pair{keys.dn_outcome, "outcome"}, std::pair{keys.scope, "scope"}})
                if (on) known += (known.empty() ? "" : ", ") + std::string(name);
            error = error_reply(400, "unknown query parameter '" +
                                         wire::escaped(key ? *key : std::string(pair), 120) +
                                         "' (only " + known + ")");
            return false;
        }
    }
    return true;
}

}  // namespace

std::optional<std::string> percent_decoded(std::string_view s) {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out += s[i];
            continue;
        }
        if (i + 2 >= s.size()) return std::nullopt;
        const int hi = hex(s[i + 1]);
        const int lo = hex(s[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

Reply error_reply(int status, const std::string& message) {
    return json_reply(status, json{{"error", message}});
}

Route route(const RequestHead& head, const RouteSettings& settings) {
    const std::string& method = head.method;
    std::string what = wire::escaped(method, 16) + " " + wire::escaped(head.path, 120);
    auto segments = segments_of(head.path);
    if (!segments) return replied(error_reply(400, "invalid percent-encoding in the path"), what);
    const auto& seg = *segments;

    if (seg.size() == 1 && seg[0] == "health") {
        if (method != "GET") return replied(method_not_allowed(method, "GET"), what);
        return replied(json_reply(200, json{{"status", "ok"}}), what);
    }
    if (seg.size() == 1 && seg[0] == "openapi.json") {
        if (method != "GET") return replied(method_not_allowed(method, "GET"), what);
        Route r;
        r.kind = Route::Kind::openapi;
        r.what = what;
        return r;
    }
    // The page's files are static and hold no secret: the login form must load without one.
    const bool page_asset =
        seg.empty() || (seg.size() == 1 &&
                        (seg[0] == "index.html" || seg[0] == "page.js" || seg[0] == "page.css"));
    if (page_asset) {
        if (method != "GET") return replied(method_not_allowed(method, "GET"), what);
        Route r;
        r.kind = Route::Kind::page;
        r.asset = seg.empty() ? "index.html" : seg[0];
        r.what = what;
        return r;
    }
    if (settings.token.empty()) {
        return replied(error_reply(503,
                                   "STATUS_TOKEN is unset: only /health is served; "
                                   "set STATUS_TOKEN to enable the status API"),
                       what);
    }
    if (const char* problem = token_problem(head, settings.token); *problem) {
        auto r = replied(error_reply(401, problem), what);
        const bool missing = header(head, "Authorization") == nullptr;
        r.reply.headers.emplace_back(
            "WWW-Authenticate", missing ? "Bearer realm=\"talkgate\""
                                        : "Bearer realm=\"talkgate\", error=\"invalid_token\"");
        r.bad_token = !missing;
        return r;
    }

    Route r;
    r.what = what;
    if (seg.size() == 1 && seg[0] == "events") {
        if (method != "GET") return replied(method_not_allowed(method, "GET"), what);
        if (!head.query.empty())
            return replied(error_reply(400, "GET /events takes no query"), what);
        r.kind = Route::Kind::events;
        r.what = "GET /events";
        return r;
    }
    if (seg.size() == 1 && (seg[0] == "ready" || seg[0] == "metrics")) {
        if (method != "GET") return replied(method_not_allowed(method, "GET"), what);
        r.kind = seg[0] == "ready" ? Route::Kind::readiness : Route::Kind::metrics;
        return r;
    }
    if (!seg.empty() && seg[0] == "calls") {
        if (seg.size() == 1) {
            if (method != "GET") return replied(method_not_allowed(method, "GET"), what);
            Reply error;
            if (!filters_of(head.query, {true, false, true}, r, error))
                return replied(std::move(error), what);
            r.kind = Route::Kind::calls;
            r.what = "GET /calls";
            return r;
        }
        if (seg.size() == 2 && seg[1] == "recent") {
            if (method != "GET") return replied(method_not_allowed(method, "GET"), what);
            Reply error;
            if (!filters_of(head.query, {true, true, false}, r, error))
                return replied(std::move(error), what);
            r.kind = Route::Kind::recent;
            r.what = "GET /calls/recent";
            return r;
        }
        if (seg.size() == 3 && seg[2] == "trace") {
            // A call's id is its Genesys leg's ARI channel id, not a DN.
            if (!wire::is_token(seg[1], 128))
                return replied(error_reply(400,
                                           "invalid call id: expected 1 to 128 visible ASCII "
                                           "characters"),
                               what);
            if (method != "GET") return replied(method_not_allowed(method, "GET"), what);
            r.kind = Route::Kind::trace;
            r.call_key = seg[1];
            r.what = "GET /calls/" + seg[1] + "/trace";
            return r;
        }
        if (!wire::valid_dn(seg[1])) {
            return replied(error_reply(400, "invalid DN: expected 1 to 32 of [0-9A-Za-z*#+_.-]"),
                           what);
        }
        if (seg.size() == 2) {
            if (method != "GET") return replied(method_not_allowed(method, "GET"), what);
            Reply error;
            if (!filters_of(head.query, {false, false, true}, r, error))
                return replied(std::move(error), what);
            r.kind = Route::Kind::calls;
            r.dn = seg[1];
            r.what = "GET /calls/" + seg[1];
            return r;
        }
        if (seg.size() == 3 && seg[2] == "answer") {
            if (method != "POST") return replied(method_not_allowed(method, "POST"), what);
            const auto length = content_length(head);
            if (header(head, "Content-Length") && !length)
                return replied(error_reply(400, "invalid Content-Length"), what);
            if (length && *length > settings.max_body_bytes)
                return replied(error_reply(413, "body too large"), what);
            r.kind = Route::Kind::answer;
            r.dn = seg[1];
            r.what = "POST /calls/" + seg[1] + "/answer";
            return r;
        }
    }
    return replied(error_reply(404, "no such route: " + wire::escaped(head.path, 120)), what);
}

std::optional<Reply> check_answer_body(std::string_view body, const RouteSettings& settings) {
    if (body.size() > settings.max_body_bytes) return error_reply(413, "body too large");
    if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return std::nullopt;
    const json parsed = json::parse(body.begin(), body.end(), nullptr, false);
    if (parsed.is_discarded()) return error_reply(400, "body is not valid JSON");
    if (!parsed.is_object()) return error_reply(400, "body must be a JSON object");
    if (!parsed.empty()) {
        return error_reply(400, "unknown field '" + wire::escaped(parsed.begin().key(), 120) +
                                    "': the body must be empty or {}");
    }
    return std::nullopt;
}

Reply readiness_reply(const Readiness& readiness) {
    return json_reply(is_ready(readiness) ? 200 : 503, to_json(readiness));
}

Reply calls_reply(const Route& route, const std::vector<CallView>& calls) {
    json envelope = json::object();
    if (route.dn) envelope["dn"] = *route.dn;
    json list = json::array();
    for (const auto& c : calls) {
        const bool keep = route.dn ? c.dn == *route.dn
                                   : route.call_uuid.empty() || c.call_uuid == route.call_uuid;
        if (keep) list.push_back(to_json(c));
    }
    envelope["count"] = list.size();
    envelope["calls"] = std::move(list);
    return json_reply(200, envelope);
}

Reply trace_reply(const std::optional<TraceView>& trace) {
    if (!trace) return error_reply(404, "no such call (live or recent)");
    return json_reply(200, to_json(*trace));
}

Reply recent_reply(const Route& route, const std::vector<RecentCallView>& calls) {
    json list = json::array();
    for (const auto& c : calls) {
        if (route.dn && c.call.dn != *route.dn) continue;
        if (!route.call_uuid.empty() && c.call.call_uuid != route.call_uuid) continue;
        if (!route.outcome.empty() && c.outcome != route.outcome) continue;
        list.push_back(to_json(c));
    }
    json envelope = json::object();
    envelope["count"] = list.size();
    envelope["calls"] = std::move(list);
    return json_reply(200, envelope);
}

Reply answer_reply(const std::string& dn, AnswerOutcome outcome, const std::string& detail) {
    json body{{"dn", dn}, {"result", to_string(outcome)}, {"detail", detail}};
    switch (outcome) {
        case AnswerOutcome::requested:
            return json_reply(202, body);
        case AnswerOutcome::no_such_call:
            body["error"] = "no call for DN " + dn;
            return json_reply(404, body);
        case AnswerOutcome::not_ringing:
            body["error"] = "the call for DN " + dn + " is not ringing";
            return json_reply(409, body);
    }
    return error_reply(500, "unknown answer outcome");
}

}  // namespace talkgate::status
