// libFuzzer target: the status API's routing. The bytes are one request:
//   METHOD\nPATH\nQUERY\nName: value\n...\n\nBODY
// route() and the body check answer every request with a reply or a route; no exception
// escapes (the target fails on any), every reply is JSON in valid UTF-8, nothing but /health,
// the contract and the web page's files is served without the token, and the controller's replies
// built from the request's values (a DN, a CallUUID, a detail) are valid JSON too.
#include "status/status_routes.hpp"
#include "wire/wire_text.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using namespace talkgate::status;

const RouteSettings kSettings{"fuzz-status-token-0123456789", 64};

std::string_view next_line(std::string_view& rest) {
    const auto end = rest.find('\n');
    const auto line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    return line;
}

std::string lowered(std::string s) {
    for (auto& c : s) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return s;
}

void check(const Reply& r) {
    if (r.status < 200 || r.status > 599) __builtin_trap();
    if (!talkgate::wire::is_utf8(r.body)) __builtin_trap();
    if (nlohmann::json::parse(r.body, nullptr, false).is_discarded()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view rest(reinterpret_cast<const char*>(data), size);
    try {
        RequestHead head;
        head.method = std::string(next_line(rest));
        head.path = std::string(next_line(rest));
        head.query = std::string(next_line(rest));
        bool has_token = false;  // the first Authorization header carries the token
        bool seen_authorization = false;
        for (int i = 0; i < 16 && !rest.empty(); ++i) {
            const auto line = next_line(rest);
            if (line.empty()) break;
            const auto colon = line.find(':');
            std::string name(line.substr(0, colon));
            std::string value(colon == std::string_view::npos ? "" : line.substr(colon + 1));
            if (!value.empty() && value[0] == ' ') value.erase(0, 1);
            if (!seen_authorization && lowered(name) == "authorization") {
                seen_authorization = true;
                has_token = lowered(value.substr(0, 7)) == "bearer " &&
                            value.substr(std::min<std::size_t>(7, value.size())) == kSettings.token;
            }
            head.headers.emplace_back(std::move(name), std::move(value));
        }
        const std::string body(rest);

        const Route r = route(head, kSettings);
        if (r.what.size() > 16 * 4 + 1 + 120 * 4 + 3 || !talkgate::wire::is_utf8(r.what))
            __builtin_trap();  // log text stays escaped and bounded
        if (r.kind == Route::Kind::reply) {
            check(r.reply);
            if (r.reply.status == 200 && head.method != "GET") __builtin_trap();
            return 0;
        }
        if (r.kind == Route::Kind::openapi || r.kind == Route::Kind::page) {
            if (head.method != "GET") __builtin_trap();
            if (r.kind == Route::Kind::page && r.asset != "index.html" && r.asset != "page.js" &&
                r.asset != "page.css")
                __builtin_trap();  // only the page's own files
            return 0;              // the document or the page's files, served as they are
        }
        if (!has_token) __builtin_trap();  // only /health and the document without the token
        if (r.kind == Route::Kind::trace && !talkgate::wire::is_token(r.call_key, 128))
            __builtin_trap();
        if (r.dn && !talkgate::wire::valid_dn(*r.dn)) __builtin_trap();

        CallView call;
        call.dn = r.dn.value_or(body);
        call.call_uuid = body;
        call.call_id = head.query;
        check(calls_reply(r, {call}));
        check(recent_reply(r, {talkgate::status::RecentCallView{call, body, 0, 0}}));
        talkgate::status::TraceView trace;
        trace.call = call;
        trace.outcome = body;
        trace.steps.push_back({0, 0, body, head.query, body, body, 0, true, 1.0});
        check(trace_reply(trace));
        if (r.kind == Route::Kind::answer) {
            if (head.method != "POST" || !r.dn) __builtin_trap();
            if (auto error = check_answer_body(body, kSettings)) check(*error);
            for (auto outcome : {AnswerOutcome::requested, AnswerOutcome::no_such_call,
                                 AnswerOutcome::not_ringing})
                check(answer_reply(*r.dn, outcome, body));
        }
    } catch (...) {
        __builtin_trap();  // an exception here would reach cpprestsdk's listener thread
    }
    return 0;
}
