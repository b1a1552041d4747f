#pragma once

#include "parsed.hpp"

#include <cstdint>
#include <string_view>

namespace talkgate::intake {

// A From or To header: the URI, its tag parameter, and the URI's user part.
struct SipNameAddr {
    std::string_view uri;   // inside the angle brackets, e.g. "sip:1002@10.0.0.1:5060"
    std::string_view user;  // "1002" (no password, no user parameters); empty when none
    std::string_view tag;   // the tag parameter; empty when none
};

// The parts of one SIP message the NOTIFY intake needs. Views point into the parsed text;
// values of folded headers keep their line breaks inside (callers trim, never re-fold).
struct SipMessage {
    bool is_request = false;
    std::string_view method;       // requests: "NOTIFY", ...
    std::string_view request_uri;  // requests
    int status_code = 0;           // responses
    std::string_view reason;       // responses

    std::string_view call_id;
    std::uint32_t cseq = 0;
    std::string_view cseq_method;
    SipNameAddr from;
    SipNameAddr to;
    std::string_view event;         // Event header's event type ("talk"); empty when absent
    std::string_view event_params;  // what follows the type, from its first ';' (may be empty)
    std::string_view subscription_state;  // the substate token ("active"); empty when absent
    std::string_view call_uuid;           // X-Genesys-CallUUID; empty when absent
    bool has_content_length = false;
    std::uint32_t content_length = 0;
    std::string_view body;
};

// Parses one SIP message (a UDP datagram or a HEP payload). Strict about structure (start line,
// header syntax, required Call-ID/CSeq/From/To, single-valued headers not conflicting,
// Content-Length within the message, CSeq method matching the request) and tolerant about
// style: case-insensitive header names, compact forms (i f t v o l m), folded lines, LF-only
// line ends, repeated headers.
Parsed<SipMessage> parse_sip(std::string_view text);

// Calls f(name, value) for each ';'-separated parameter in `params` (";a=1;b" gives ("a","1"),
// ("b","")), trimmed of whitespace. Returns false if a parameter has an empty name.
template <class F>
bool for_each_sip_param(std::string_view params, F&& f);

namespace detail {
std::string_view trim_lws(std::string_view s);
}

template <class F>
bool for_each_sip_param(std::string_view params, F&& f) {
    while (!params.empty()) {
        const auto semi = params.find(';');
        std::string_view item = params.substr(0, semi);
        params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
        item = detail::trim_lws(item);
        if (item.empty()) continue;
        const auto eq = item.find('=');
        const std::string_view name = detail::trim_lws(item.substr(0, eq));
        const std::string_view value = eq == std::string_view::npos
                                           ? std::string_view()
                                           : detail::trim_lws(item.substr(eq + 1));
        if (name.empty()) return false;
        f(name, value);
    }
    return true;
}

}  // namespace talkgate::intake
