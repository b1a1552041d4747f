#pragma once

#include "ha/redis_url.hpp"
#include "ha/resp_reader.hpp"
#include "logging/handler_guard.hpp"
#include "logging/rate_limit.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace talkgate::ha {

// A small Redis client on talkgate's io_context (hiredis has no Asio adapter): RESP encoded
// and parsed by hiredis, the socket, deadlines and reconnects by Asio. Commands are pipelined
// in order; each has a deadline, and a deadline passed closes the connection (later replies
// could no longer be matched) and fails every pending command. While the connection is down a
// command fails at once: the caller decides when to try again. Everything on the io thread;
// up() from any thread. Never throws into the loop.
class RedisClient : public std::enable_shared_from_this<RedisClient> {
  public:
    struct Options {
        RedisEndpoint endpoint;
        std::chrono::milliseconds command_timeout{1000};
        std::chrono::milliseconds connect_timeout{1000};
        std::chrono::milliseconds reconnect_min{100};
        std::chrono::milliseconds reconnect_max{2000};
        RespReader::Limits limits;
        // What went wrong: connect, auth, timeout, protocol, closed (talkgate_redis_errors_total).
        std::function<void(const char* reason)> on_error;
        std::function<void()> on_handler_error;  // a callback threw
    };
    // The reply, or nullopt and why (an error reply from Redis is a reply: check is_error()).
    using Done = std::function<void(std::optional<RedisReply>, const std::string& error)>;
    using StateHandler = std::function<void(bool up, const std::string& reason)>;

    RedisClient(boost::asio::io_context& io, Options options, StateHandler on_state);
    RedisClient(const RedisClient&) = delete;
    RedisClient& operator=(const RedisClient&) = delete;

    void start();
    void stop();  // pending commands fail with "stopped"
    void command(std::vector<std::string> argv, Done done);
    bool up() const { return up_.load(); }

  private:
    struct Pending {
        Done done;
        std::chrono::steady_clock::time_point deadline;
    };

    void send(const std::vector<std::string>& argv, Done done);
    void connect();
    void handshake();
    void read();
    void write();
    void arm_deadline();
    void on_reply(RedisReply reply);
    void fail(const char* reason, const std::string& detail);
    void schedule_reconnect();
    void finish(Done& done, std::optional<RedisReply> reply, const std::string& error);
    void count(const char* reason);

    boost::asio::io_context& io_;
    Options options_;
    StateHandler on_state_;
    logging::HandlerGuard guard_;
    boost::asio::ip::tcp::resolver resolver_{io_};
    boost::asio::ip::tcp::socket socket_{io_};
    boost::asio::steady_timer connect_timer_{io_};   // bounds resolve + connect + handshake
    boost::asio::steady_timer deadline_timer_{io_};  // the oldest pending command's deadline
    boost::asio::steady_timer retry_timer_{io_};     // the next connect attempt
    std::unique_ptr<RespReader> reader_;             // one per connection: errors are sticky
    std::deque<Pending> pending_;                    // sent or queued, in reply order
    std::string out_;                                // encoded commands not yet written
    std::string writing_;                            // the bytes of the write in flight
    std::array<char, 16384> in_{};                   // read buffer
    std::uint64_t generation_ = 0;                   // bumps per connection: stale handlers quit
    bool connected_ = false;                         // socket open (handshake may run)
    bool deadline_armed_ = false;
    bool stopped_ = false;
    std::atomic<bool> up_{false};  // handshake done: commands go out
    std::chrono::milliseconds backoff_{0};
    std::minstd_rand jitter_{std::random_device{}()};
    logging::RateLimit unreachable_log_{std::chrono::seconds(30)};  // failed connects, retried
};

}  // namespace talkgate::ha
