#include "sip_message.hpp"

#include "wire/wire_text.hpp"

#include <string>

namespace talkgate::intake {

namespace detail {

std::string_view trim_lws(std::string_view s) {
    auto lws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!s.empty() && lws(s.front())) s.remove_prefix(1);
    while (!s.empty() && lws(s.back())) s.remove_suffix(1);
    return s;
}

}  // namespace detail

namespace {

using detail::trim_lws;
using P = Parsed<SipMessage>;

bool lws(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// Character classes by table: the parser looks at every byte of every header name.
struct CharTable {
    bool token[256] = {};
    char lower[256] = {};
    constexpr CharTable() {
        for (int c = 0; c < 256; ++c) {
            lower[c] = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
            token[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '.' || c == '!' || c == '%' || c == '*' || c == '_' ||
                       c == '+' || c == '`' || c == '\'' || c == '~';
        }
    }
};
constexpr CharTable kChars;

char lower(char c) {
    return kChars.lower[static_cast<unsigned char>(c)];
}

using wire::iequals;

bool is_token(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
        if (!kChars.token[static_cast<unsigned char>(c)]) return false;
    }
    return true;
}

bool has_lws(std::string_view s) {
    for (char c : s) {
        if (lws(c)) return true;
    }
    return false;
}

// Decimal digits only, at most `max`; false on anything else or overflow.
bool parse_uint(std::string_view s, std::uint64_t max, std::uint64_t& out) {
    if (s.empty() || s.size() > 10) return false;
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (v > max) return false;
    out = v;
    return true;
}

// One line without its line end; `next` is where the following line starts.
bool next_line(std::string_view text, std::size_t pos, std::string_view& line, std::size_t& next) {
    const auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos) return false;
    std::size_t end = nl;
    if (end > pos && text[end - 1] == '\r') --end;
    line = text.substr(pos, end - pos);
    next = nl + 1;
    return true;
}

std::string quoted(std::string_view s) {
    constexpr std::size_t kMax = 40;
    std::string out = "'";
    out.append(s.substr(0, kMax));
    if (s.size() > kMax) out += "...";
    return out + "'";
}

// The user part of a URI: between the scheme's ':' and '@', without password or parameters.
std::string_view uri_user(std::string_view uri) {
    const auto colon = uri.find(':');
    if (colon == std::string_view::npos) return {};
    const std::string_view scheme = uri.substr(0, colon);
    std::string_view rest = uri.substr(colon + 1);
    if (iequals(scheme, "tel")) return rest.substr(0, rest.find(';'));
    const auto at = rest.find('@');
    if (at == std::string_view::npos) return {};
    std::string_view user = rest.substr(0, at);
    user = user.substr(0, user.find(':'));
    return user.substr(0, user.find(';'));
}

// name-addr or addr-spec with header parameters (RFC 3261 From/To).
bool parse_name_addr(std::string_view value, SipNameAddr& out, std::string& error) {
    std::string_view v = trim_lws(value);
    std::string_view params;
    if (v.empty()) {
        error = "empty";
        return false;
    }
    std::size_t lt = std::string_view::npos;
    if (v.front() == '"') {
        std::size_t i = 1;
        while (i < v.size() && v[i] != '"') i += v[i] == '\\' ? 2 : 1;
        if (i >= v.size()) {
            error = "unterminated display name";
            return false;
        }
        lt = v.find('<', i + 1);
        if (lt == std::string_view::npos || !trim_lws(v.substr(i + 1, lt - i - 1)).empty()) {
            error = "no <URI> after display name";
            return false;
        }
    } else {
        lt = v.find('<');
    }
    if (lt != std::string_view::npos) {
        const auto gt = v.find('>', lt);
        if (gt == std::string_view::npos) {
            error = "no closing '>'";
            return false;
        }
        out.uri = trim_lws(v.substr(lt + 1, gt - lt - 1));
        params = v.substr(gt + 1);
        const std::string_view before = trim_lws(params);
        if (!before.empty() && before.front() != ';') {
            error = "junk after '>'";
            return false;
        }
    } else {
        const auto semi = v.find(';');
        out.uri = trim_lws(v.substr(0, semi));
        params = semi == std::string_view::npos ? std::string_view() : v.substr(semi);
    }
    if (out.uri.empty() || out.uri.find(':') == std::string_view::npos || has_lws(out.uri)) {
        error = "bad URI " + quoted(out.uri);
        return false;
    }
    out.user = uri_user(out.uri);
    bool ok = for_each_sip_param(params, [&](std::string_view name, std::string_view val) {
        if (iequals(name, "tag")) out.tag = val;
    });
    if (!ok) {
        error = "empty parameter name";
        return false;
    }
    return true;
}

enum Header : unsigned {
    h_call_id = 1u << 0,
    h_cseq = 1u << 1,
    h_from = 1u << 2,
    h_to = 1u << 3,
    h_event = 1u << 4,
    h_sub_state = 1u << 5,
    h_call_uuid = 1u << 6,
    h_content_length = 1u << 7,
};

// Which single-valued header a name denotes (long or compact form); 0 for any other.
unsigned header_of(std::string_view name) {
    if (name.size() == 1) {
        switch (lower(name[0])) {
            case 'i':
                return h_call_id;
            case 'f':
                return h_from;
            case 't':
                return h_to;
            case 'o':
                return h_event;
            case 'l':
                return h_content_length;
            default:
                return 0;  // v, m and the other compact forms carry nothing we need
        }
    }
    if (iequals(name, "call-id")) return h_call_id;
    if (iequals(name, "cseq")) return h_cseq;
    if (iequals(name, "from")) return h_from;
    if (iequals(name, "to")) return h_to;
    if (iequals(name, "event")) return h_event;
    if (iequals(name, "subscription-state")) return h_sub_state;
    if (iequals(name, "x-genesys-calluuid")) return h_call_uuid;
    if (iequals(name, "content-length")) return h_content_length;
    return 0;
}

const char* header_name(unsigned h) {
    switch (h) {
        case h_call_id:
            return "Call-ID";
        case h_cseq:
            return "CSeq";
        case h_from:
            return "From";
        case h_to:
            return "To";
        case h_event:
            return "Event";
        case h_sub_state:
            return "Subscription-State";
        case h_call_uuid:
            return "X-Genesys-CallUUID";
        default:
            return "Content-Length";
    }
}

class Parser {
  public:
    explicit Parser(std::string_view text) : text_(text) {}

    P run() {
        std::string_view line;
        std::size_t pos = 0;
        if (!next_line(text_, pos, line, pos)) return P::fail("no line end after the start line");
        if (!start_line(line)) return P::fail(error_);

        std::string_view name;
        std::size_t value_begin = 0;
        std::size_t value_end = 0;
        bool have_header = false;
        std::size_t body_begin = std::string_view::npos;
        while (true) {
            const std::size_t line_begin = pos;
            if (!next_line(text_, pos, line, pos))
                return P::fail("headers not terminated by an empty line");
            if (line.empty()) {
                body_begin = pos;
                break;
            }
            if (line.front() == ' ' || line.front() == '\t') {
                if (!have_header) return P::fail("continuation line before the first header");
                value_end = line_begin + line.size();
                continue;
            }
            if (have_header && !header(name, text_.substr(value_begin, value_end - value_begin))) {
                return P::fail(error_);
            }
            const auto colon = line.find(':');
            if (colon == std::string_view::npos)
                return P::fail("header line without ':' " + quoted(line));
            name = line.substr(0, colon);
            while (!name.empty() && (name.back() == ' ' || name.back() == '\t'))
                name.remove_suffix(1);
            if (!is_token(name)) return P::fail("bad header name " + quoted(name));
            value_begin = line_begin + colon + 1;
            value_end = line_begin + line.size();
            have_header = true;
        }
        if (have_header && !header(name, text_.substr(value_begin, value_end - value_begin))) {
            return P::fail(error_);
        }

        for (unsigned h : {h_call_id, h_cseq, h_from, h_to}) {
            if (!(seen_ & h)) return P::fail(std::string("missing ") + header_name(h));
        }
        if (msg_.is_request && msg_.cseq_method != msg_.method) {
            return P::fail("CSeq method " + quoted(msg_.cseq_method) +
                           " differs from request method " + quoted(msg_.method));
        }
        std::string_view body = text_.substr(body_begin);
        if (msg_.has_content_length) {
            if (msg_.content_length > body.size()) {
                return P::fail("Content-Length " + std::to_string(msg_.content_length) +
                               " past the end of the message (" + std::to_string(body.size()) +
                               " bytes of body)");
            }
            body = body.substr(0, msg_.content_length);  // RFC 3261 18.3: extra bytes are dropped
        }
        msg_.body = body;
        return P::ok(msg_);
    }

  private:
    bool fail(std::string e) {
        error_ = std::move(e);
        return false;
    }

    bool start_line(std::string_view line) {
        std::string_view parts[3];
        std::size_t n = 0;
        std::string_view rest = line;
        while (n < 3) {
            while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
            if (rest.empty()) break;
            const auto sp = n < 2 ? rest.find(' ') : std::string_view::npos;
            parts[n++] = rest.substr(0, sp);
            rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
        }
        if (n >= 2 && iequals(parts[0], "SIP/2.0")) {
            std::uint64_t code = 0;
            if (parts[1].size() != 3 || !parse_uint(parts[1], 699, code) || code < 100) {
                return fail("bad status code " + quoted(parts[1]));
            }
            msg_.is_request = false;
            msg_.status_code = static_cast<int>(code);
            msg_.reason = n == 3 ? trim_lws(parts[2]) : std::string_view();
            return true;
        }
        if (n != 3 || !iequals(trim_lws(parts[2]), "SIP/2.0")) {
            return fail("bad start line " + quoted(line));
        }
        if (!is_token(parts[0])) return fail("bad method " + quoted(parts[0]));
        if (parts[1].find(':') == std::string_view::npos)
            return fail("bad Request-URI " + quoted(parts[1]));
        msg_.is_request = true;
        msg_.method = parts[0];
        msg_.request_uri = parts[1];
        return true;
    }

    bool header(std::string_view name, std::string_view raw) {
        const unsigned h = header_of(name);
        if (h == 0) return true;
        const std::string_view value = trim_lws(raw);
        unsigned index = 0;
        while ((1u << index) != h) ++index;
        if (seen_ & h) {
            if (value != raw_[index])
                return fail(std::string("conflicting ") + header_name(h) + " headers");
            return true;
        }
        seen_ |= h;
        raw_[index] = value;
        switch (h) {
            case h_call_id:
                if (value.empty() || has_lws(value)) return fail("bad Call-ID " + quoted(value));
                msg_.call_id = value;
                return true;
            case h_cseq: {
                std::size_t i = 0;
                while (i < value.size() && !lws(value[i])) ++i;
                std::uint64_t n = 0;
                // RFC 3261 8.1.1.5: the sequence number is below 2**31
                if (!parse_uint(value.substr(0, i), 0x7fffffff, n))
                    return fail("bad CSeq " + quoted(value));
                const std::string_view method = trim_lws(value.substr(i));
                if (!is_token(method)) return fail("bad CSeq method " + quoted(value));
                msg_.cseq = static_cast<std::uint32_t>(n);
                msg_.cseq_method = method;
                return true;
            }
            case h_from:
            case h_to: {
                std::string why;
                if (!parse_name_addr(value, h == h_from ? msg_.from : msg_.to, why)) {
                    return fail(std::string("bad ") + header_name(h) + ": " + why);
                }
                return true;
            }
            case h_event: {
                const auto semi = value.find(';');
                const std::string_view type = trim_lws(value.substr(0, semi));
                if (!is_token(type)) return fail("bad Event " + quoted(value));
                msg_.event = type;
                msg_.event_params =
                    semi == std::string_view::npos ? std::string_view() : value.substr(semi);
                return true;
            }
            case h_sub_state: {
                const std::string_view state = trim_lws(value.substr(0, value.find(';')));
                if (!is_token(state)) return fail("bad Subscription-State " + quoted(value));
                msg_.subscription_state = state;
                return true;
            }
            case h_call_uuid:
                msg_.call_uuid = value;
                return true;
            default: {
                std::uint64_t n = 0;
                if (!parse_uint(value, 0xffffffffu, n))
                    return fail("bad Content-Length " + quoted(value));
                msg_.has_content_length = true;
                msg_.content_length = static_cast<std::uint32_t>(n);
                return true;
            }
        }
    }

    std::string_view text_;
    SipMessage msg_;
    unsigned seen_ = 0;        // which single-valued headers were seen
    std::string_view raw_[8];  // their first trimmed values, to spot conflicting repeats
    std::string error_;
};

}  // namespace

Parsed<SipMessage> parse_sip(std::string_view text) {
    return Parser(text).run();
}

}  // namespace talkgate::intake
