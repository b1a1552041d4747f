#include "ha/redis_url.hpp"

#include <cctype>

namespace talkgate::ha {

namespace {

bool all_digits(const std::string& s) {
    if (s.empty()) return false;
    for (unsigned char c : s)
        if (!std::isdigit(c)) return false;
    return true;
}

}  // namespace

std::optional<RedisEndpoint> parse_redis_url(const std::string& url, std::string& error) {
    const std::string scheme = "redis://";
    if (url.compare(0, scheme.size(), scheme) != 0) {
        error = "must start with redis:// (rediss:// is not supported)";
        return std::nullopt;
    }
    RedisEndpoint ep;
    std::string rest = url.substr(scheme.size());
    // The password may hold '@' or '/': the host part starts after the last '@'.
    if (auto at = rest.rfind('@'); at != std::string::npos) {
        const std::string credentials = rest.substr(0, at);
        rest = rest.substr(at + 1);
        const auto colon = credentials.find(':');
        if (colon == std::string::npos) {
            error = "credentials must be [user]:password@";
            return std::nullopt;
        }
        ep.user = credentials.substr(0, colon);
        ep.password = credentials.substr(colon + 1);
    }
    std::string hostport = rest;
    if (auto slash = rest.find('/'); slash != std::string::npos) {
        hostport = rest.substr(0, slash);
        const std::string db = rest.substr(slash + 1);
        if (!db.empty()) {
            if (!all_digits(db) || db.size() > 5) {
                error = "database must be a number";
                return std::nullopt;
            }
            ep.db = std::stoi(db);
        }
    }
    std::string port;
    if (!hostport.empty() && hostport.front() == '[') {
        const auto close = hostport.find(']');
        if (close == std::string::npos) {
            error = "unclosed [ in the host";
            return std::nullopt;
        }
        ep.host = hostport.substr(1, close - 1);
        if (close + 1 < hostport.size()) {
            if (hostport[close + 1] != ':') {
                error = "expected :port after ]";
                return std::nullopt;
            }
            port = hostport.substr(close + 2);
            if (port.empty()) {
                error = "empty port";
                return std::nullopt;
            }
        }
    } else if (auto colon = hostport.rfind(':'); colon != std::string::npos) {
        ep.host = hostport.substr(0, colon);
        port = hostport.substr(colon + 1);
        if (port.empty()) {
            error = "empty port";
            return std::nullopt;
        }
    } else {
        ep.host = hostport;
    }
    if (ep.host.empty()) {
        error = "no host";
        return std::nullopt;
    }
    if (!port.empty()) {
        if (!all_digits(port) || port.size() > 5 || std::stoi(port) < 1 ||
            std::stoi(port) > 65535) {
            error = "port must be 1 to 65535";
            return std::nullopt;
        }
        ep.port = static_cast<unsigned short>(std::stoi(port));
    }
    return ep;
}

std::string describe(const RedisEndpoint& endpoint) {
    const bool v6 = endpoint.host.find(':') != std::string::npos;
    return (v6 ? "[" + endpoint.host + "]" : endpoint.host) + ":" + std::to_string(endpoint.port) +
           "/" + std::to_string(endpoint.db);
}

}  // namespace talkgate::ha
