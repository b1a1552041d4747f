#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct redisReader;

namespace talkgate::ha {

// One Redis reply, owned: what hiredis's parser produced, copied out of its buffers.
struct RedisReply {
    enum class Type { string, array, integer, nil, status, error };
    Type type = Type::nil;
    std::string text;  // string, status, error
    long long integer = 0;
    std::vector<RedisReply> elements;  // array

    bool is_error() const { return type == Type::error; }
    bool is_ok() const { return type == Type::status && text == "OK"; }
};

// Feeds bytes from the socket to hiredis's RESP parser and hands out whole replies. A protocol
// error or an input past the limits is sticky: the connection it came from must be closed.
// Never throws.
class RespReader {
  public:
    struct Limits {
        std::size_t max_pending_bytes = 4 * 1024 * 1024;  // unparsed input (a huge bulk string)
        std::size_t max_array_elements = 1024 * 1024;     // one multi-bulk header
    };
    RespReader();
    explicit RespReader(Limits limits);
    ~RespReader();
    RespReader(const RespReader&) = delete;
    RespReader& operator=(const RespReader&) = delete;

    // False (and error() set) on a protocol error or when the input passes the limits.
    bool feed(const char* data, std::size_t size);
    // The next whole reply, nullopt when none is complete yet or after an error.
    std::optional<RedisReply> next();
    const std::string& error() const { return error_; }

  private:
    Limits limits_;
    redisReader* reader_ = nullptr;
    std::string error_;
};

// The RESP encoding of one command (hiredis's redisFormatCommandArgv); empty when it fails.
std::string format_command(const std::vector<std::string>& argv);

}  // namespace talkgate::ha
