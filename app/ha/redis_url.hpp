#pragma once

#include <optional>
#include <string>

namespace talkgate::ha {

// Where Redis is: REDIS_URL, redis://[[user]:password@]host[:port][/db].
struct RedisEndpoint {
    std::string host;
    unsigned short port = 6379;
    std::string user;      // ACL user; empty: AUTH with the password alone
    std::string password;  // secret; empty: no AUTH
    int db = 0;
};

// Parses REDIS_URL; nullopt with `error` set (never the password in it).
std::optional<RedisEndpoint> parse_redis_url(const std::string& url, std::string& error);

// host:port/db, never the credentials: what may be logged.
std::string describe(const RedisEndpoint& endpoint);

}  // namespace talkgate::ha
