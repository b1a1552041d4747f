#pragma once

#include <arpa/inet.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// IP networks for allow-lists (BRIDGE_API_CONTACT_ALLOW): parsing and matching, IPv4 and IPv6.
// Standard library and POSIX inet_pton only.
namespace talkgate::wire {

struct IpBytes {
    bool v6 = false;
    std::array<std::uint8_t, 16> bytes{};  // IPv4 in the first 4
};

// An IP literal ("10.0.0.7", "::1", "[::1]"); nullopt for anything else (a host name).
inline std::optional<IpBytes> parse_ip(std::string_view text) {
    if (text.size() >= 2 && text.front() == '[' && text.back() == ']')
        text = text.substr(1, text.size() - 2);
    if (text.empty() || text.size() > 45) return std::nullopt;
    const std::string s(text);
    IpBytes ip;
    if (inet_pton(AF_INET, s.c_str(), ip.bytes.data()) == 1) return ip;
    ip.v6 = true;
    if (inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) == 1) return ip;
    return std::nullopt;
}

// A network "a.b.c.d/n" or "x::/n"; a bare address is a /32 or /128.
struct Cidr {
    IpBytes network;
    unsigned prefix = 0;

    static std::optional<Cidr> parse(std::string_view text) {
        Cidr c;
        const auto slash = text.find('/');
        auto ip = parse_ip(text.substr(0, slash));
        if (!ip) return std::nullopt;
        c.network = *ip;
        const unsigned max = ip->v6 ? 128 : 32;
        c.prefix = max;
        if (slash != std::string_view::npos) {
            const auto digits = text.substr(slash + 1);
            if (digits.empty() || digits.size() > 3) return std::nullopt;
            unsigned n = 0;
            for (char ch : digits) {
                if (ch < '0' || ch > '9') return std::nullopt;
                n = n * 10 + static_cast<unsigned>(ch - '0');
            }
            if (n > max) return std::nullopt;
            c.prefix = n;
        }
        return c;
    }

    bool contains(const IpBytes& ip) const {
        if (ip.v6 != network.v6) return false;
        unsigned left = prefix;
        for (std::size_t i = 0; left > 0; ++i) {
            const unsigned bits = left >= 8 ? 8 : left;
            const auto mask = static_cast<std::uint8_t>(0xFF << (8 - bits));
            if ((ip.bytes[i] & mask) != (network.bytes[i] & mask)) return false;
            left -= bits;
        }
        return true;
    }
};

// A DNS host name: labels of [A-Za-z0-9-] separated by dots, at most 253 characters.
inline bool valid_host_name(std::string_view s) {
    if (s.empty() || s.size() > 253 || s.front() == '.' || s.back() == '.') return false;
    std::size_t label = 0;
    char previous = '.';
    for (char ch : s) {
        if (ch == '.') {
            if (label == 0 || previous == '-') return false;
            label = 0;
            previous = ch;
            continue;
        }
        const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                        (ch >= '0' && ch <= '9') || (ch == '-' && label > 0);
        if (!ok || ++label > 63) return false;
        previous = ch;
    }
    return previous != '-';
}

// Where a per-desktop bridge API may be: networks (CIDRs) and exact host names.
class HostAllowList {
  public:
    // One entry per item: a CIDR, an IP or a host name; false with `error` naming a bad one.
    bool parse(const std::vector<std::string>& items, std::string& error) {
        std::vector<Cidr> nets;
        std::vector<std::string> names;
        for (const auto& item : items) {
            if (auto c = Cidr::parse(item)) {
                nets.push_back(*c);
            } else if (item.find('/') == std::string::npos && valid_host_name(item) &&
                       !parse_ip(item)) {
                names.push_back(lower(item));
            } else {
                error = "'" + item + "' is neither a CIDR (10.1.0.0/16), an IP nor a host name";
                return false;
            }
        }
        nets_ = std::move(nets);
        names_ = std::move(names);
        return true;
    }

    bool empty() const { return nets_.empty() && names_.empty(); }

    // True when `host` (an IP literal, bracketed IPv6 too, or a host name) is allowed.
    bool allows(std::string_view host) const {
        if (auto ip = parse_ip(host)) {
            for (const auto& n : nets_) {
                if (n.contains(*ip)) return true;
            }
            return false;
        }
        if (!valid_host_name(host)) return false;
        const auto name = lower(std::string(host));
        for (const auto& n : names_) {
            if (n == name) return true;
        }
        return false;
    }

  private:
    static std::string lower(std::string s) {
        for (auto& ch : s) {
            if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
        }
        return s;
    }

    std::vector<Cidr> nets_;
    std::vector<std::string> names_;
};

}  // namespace talkgate::wire
