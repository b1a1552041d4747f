#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

// Checks for values that come from the wire (SIP headers, AMI fields, ARI JSON, HTTP paths),
// and their escaping for log lines. Standard library only: the fuzz targets build it with clang.
namespace talkgate::wire {

// Well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
inline bool is_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t len = 0;
        unsigned lo = 0x80;
        unsigned hi = 0xBF;
        if (c < 0x80) {
            ++i;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            len = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 2;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 3;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else {
            return false;
        }
        if (s.size() - i <= len) return false;
        for (std::size_t k = 1; k <= len; ++k) {
            const auto b = static_cast<unsigned char>(s[i + k]);
            if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return false;
        }
        i += len + 1;
    }
    return true;
}

// 1 to `max` characters, each printable ASCII without space ('!' to '~').
inline bool is_token(std::string_view s, std::size_t max) {
    if (s.empty() || s.size() > max) return false;
    for (char ch : s) {
        if (ch <= ' ' || ch > '~') return false;
    }
    return true;
}

// X-Genesys-CallUUID: 1 to 128 visible ASCII characters.
inline bool valid_call_uuid(std::string_view s) {
    return is_token(s, 128);
}

// SIP Call-ID: 1 to 256 visible ASCII characters (the de-duplicator's memory stays bounded).
inline bool valid_call_id(std::string_view s) {
    return is_token(s, 256);
}

// A DN as Asterisk and Genesys spell it: [0-9A-Za-z*#+_.-]{1,32}.
inline bool valid_dn(std::string_view s) {
    if (s.empty() || s.size() > 32) return false;
    for (char c : s) {
        const bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
                        (c >= 'a' && c <= 'z') || c == '*' || c == '#' || c == '+' || c == '_' ||
                        c == '.' || c == '-';
        if (!ok) return false;
    }
    return true;
}

// ASCII case-insensitive equality, the way SIP and Asterisk match names and keywords.
inline bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i];
        char y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

// `s` with every `what` replaced by `with` (URL and endpoint templates: {dn}, {contact_host}).
inline std::string replace_all(std::string s, std::string_view what, std::string_view with) {
    if (what.empty()) return s;
    for (auto pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + with.size()))
        s.replace(pos, what.size(), with);
    return s;
}

// `s` for a log line: control bytes, backslash and bytes above 0x7e as \xNN, at most `max`
// input bytes (then "..."), so a peer can neither forge log lines nor flood them.
inline std::string escaped(std::string_view s, std::size_t max = 200) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(std::min(s.size(), max) + 8);
    for (std::size_t i = 0; i < s.size() && i < max; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c > 0x7e || c == '\\') {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
    if (s.size() > max) out += "...";
    return out;
}

}  // namespace talkgate::wire
