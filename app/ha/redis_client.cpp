#include "ha/redis_client.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>

namespace talkgate::ha {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

RedisClient::RedisClient(asio::io_context& io, Options options, StateHandler on_state)
    : io_(io),
      options_(std::move(options)),
      on_state_(std::move(on_state)),
      guard_("redis", options_.on_handler_error) {}

void RedisClient::start() {
    std::weak_ptr<RedisClient> weak = shared_from_this();
    asio::post(io_, [weak] {
        if (auto s = weak.lock()) s->guard_.run("connect", [&] { s->connect(); });
    });
}

void RedisClient::stop() {
    std::weak_ptr<RedisClient> weak = shared_from_this();
    asio::post(io_, [weak] {
        auto s = weak.lock();
        if (!s || s->stopped_) return;
        s->guard_.run("stop", [&] {
            s->stopped_ = true;
            s->fail("closed", "stopped");
        });
    });
}

void RedisClient::count(const char* reason) {
    if (options_.on_error) guard_.run("error counter", [&] { options_.on_error(reason); });
}

void RedisClient::finish(Done& done, std::optional<RedisReply> reply, const std::string& error) {
    if (done) guard_.run("reply handler", [&] { done(std::move(reply), error); });
}

void RedisClient::command(std::vector<std::string> argv, Done done) {
    if (!up_ || stopped_) {
        // Posted, not called here: a caller's handler never runs inside its own call.
        asio::post(io_, [self = shared_from_this(), done = std::move(done)]() mutable {
            self->finish(done, std::nullopt, "not connected");
        });
        return;
    }
    send(argv, std::move(done));
}

void RedisClient::send(const std::vector<std::string>& argv, Done done) {
    std::string encoded = format_command(argv);
    if (encoded.empty()) {
        asio::post(io_, [self = shared_from_this(), done = std::move(done)]() mutable {
            self->finish(done, std::nullopt, "cannot encode the command");
        });
        return;
    }
    out_ += encoded;
    pending_.push_back(
        {std::move(done), std::chrono::steady_clock::now() + options_.command_timeout});
    write();
    arm_deadline();
}

void RedisClient::connect() {
    if (stopped_) return;
    const auto gen = ++generation_;
    reader_ = std::make_unique<RespReader>(options_.limits);
    std::weak_ptr<RedisClient> weak = shared_from_this();
    connect_timer_.expires_after(options_.connect_timeout);
    connect_timer_.async_wait([weak, gen](const boost::system::error_code& ec) {
        auto s = weak.lock();
        if (!s || ec || gen != s->generation_ || s->up_) return;
        s->guard_.run("connect deadline", [&] { s->fail("connect", "connect timed out"); });
    });
    resolver_.async_resolve(
        options_.endpoint.host, std::to_string(options_.endpoint.port),
        [weak, gen](const boost::system::error_code& ec, tcp::resolver::results_type results) {
            auto s = weak.lock();
            if (!s || gen != s->generation_ || s->stopped_) return;
            s->guard_.run("resolve", [&] {
                if (ec) return s->fail("connect", "resolve: " + ec.message());
                asio::async_connect(
                    s->socket_, results,
                    [weak, gen](const boost::system::error_code& ec2, const tcp::endpoint&) {
                        auto s2 = weak.lock();
                        if (!s2 || gen != s2->generation_ || s2->stopped_) return;
                        s2->guard_.run("connect", [&] {
                            if (ec2) return s2->fail("connect", ec2.message());
                            boost::system::error_code ignored;
                            s2->socket_.set_option(tcp::no_delay(true), ignored);
                            s2->connected_ = true;
                            s2->read();
                            s2->handshake();
                        });
                    });
            });
        });
}

// AUTH and SELECT before anything else; the connection is up once the last of them answered.
void RedisClient::handshake() {
    std::weak_ptr<RedisClient> weak = shared_from_this();
    const auto gen = generation_;
    auto check = [weak, gen](const char* what, bool last) {
        return [weak, gen, what, last](std::optional<RedisReply> r, const std::string& error) {
            auto s = weak.lock();
            if (!s || gen != s->generation_ || !s->connected_) return;
            if (!r) return;  // fail() already ran for this connection
            if (r->is_error()) {
                // Redis's text, never the password: it is not echoed in AUTH errors.
                spdlog::error("Redis {} refused: {}", what, r->text.substr(0, 120));
                return s->fail("auth", std::string(what) + " refused");
            }
            if (!last) return;
            s->connect_timer_.cancel();
            s->backoff_ = std::chrono::milliseconds(0);
            s->up_ = true;
            spdlog::info("Redis connected at {}", describe(s->options_.endpoint));
            if (s->on_state_) s->guard_.run("state handler", [&] { s->on_state_(true, ""); });
            (void)error;
        };
    };
    const auto& ep = options_.endpoint;
    const bool select = ep.db != 0;
    if (!ep.password.empty()) {
        std::vector<std::string> auth{"AUTH"};
        if (!ep.user.empty()) auth.push_back(ep.user);
        auth.push_back(ep.password);
        send(auth, check("AUTH", false));
    }
    if (select) send({"SELECT", std::to_string(ep.db)}, check("SELECT", false));
    send({"PING"}, check("PING", true));
}

void RedisClient::read() {
    std::weak_ptr<RedisClient> weak = shared_from_this();
    const auto gen = generation_;
    socket_.async_read_some(asio::buffer(in_),
                            [weak, gen](const boost::system::error_code& ec, std::size_t n) {
                                auto s = weak.lock();
                                if (!s || gen != s->generation_ || !s->connected_) return;
                                s->guard_.run("read", [&] {
                                    if (ec) return s->fail("closed", ec.message());
                                    if (!s->reader_->feed(s->in_.data(), n))
                                        return s->fail("protocol", s->reader_->error());
                                    while (auto reply = s->reader_->next()) {
                                        s->on_reply(std::move(*reply));
                                        if (gen != s->generation_ || !s->connected_)
                                            return;  // a handler failed it
                                    }
                                    if (!s->reader_->error().empty())
                                        return s->fail("protocol", s->reader_->error());
                                    s->read();
                                });
                            });
}

void RedisClient::on_reply(RedisReply reply) {
    if (pending_.empty()) return fail("protocol", "a reply nobody asked for");
    Done done = std::move(pending_.front().done);
    pending_.pop_front();
    finish(done, std::move(reply), "");
}

void RedisClient::write() {
    if (!connected_ || !writing_.empty() || out_.empty()) return;
    writing_.swap(out_);
    std::weak_ptr<RedisClient> weak = shared_from_this();
    const auto gen = generation_;
    asio::async_write(socket_, asio::buffer(writing_),
                      [weak, gen](const boost::system::error_code& ec, std::size_t) {
                          auto s = weak.lock();
                          if (!s || gen != s->generation_ || !s->connected_) return;
                          s->guard_.run("write", [&] {
                              s->writing_.clear();
                              if (ec) return s->fail("closed", ec.message());
                              s->write();
                          });
                      });
}

// One timer for the oldest command: all share one timeout, so it is always the next to expire.
void RedisClient::arm_deadline() {
    if (deadline_armed_ || pending_.empty()) return;
    deadline_armed_ = true;
    deadline_timer_.expires_at(pending_.front().deadline);
    std::weak_ptr<RedisClient> weak = shared_from_this();
    deadline_timer_.async_wait([weak](const boost::system::error_code& ec) {
        auto s = weak.lock();
        if (!s) return;
        s->deadline_armed_ = false;
        if (ec) return;
        s->guard_.run("deadline", [&] {
            if (!s->pending_.empty() &&
                s->pending_.front().deadline <= std::chrono::steady_clock::now())
                return s->fail("timeout", "no reply within " +
                                              std::to_string(s->options_.command_timeout.count()) +
                                              " ms");
            s->arm_deadline();
        });
    });
}

void RedisClient::fail(const char* reason, const std::string& detail) {
    const bool was_up = up_.exchange(false);
    ++generation_;
    connected_ = false;
    boost::system::error_code ignored;
    socket_.close(ignored);
    resolver_.cancel();
    connect_timer_.cancel();
    deadline_timer_.cancel();
    out_.clear();
    writing_.clear();
    auto failed = std::move(pending_);
    pending_.clear();
    if (!stopped_) {
        count(reason);
        std::uint64_t held_back = 0;
        if (was_up)
            spdlog::warn("Redis connection lost ({}): {}", reason, detail);
        else if (unreachable_log_.allow(held_back))
            spdlog::warn("Redis at {} unreachable ({}): {}; retrying ({} more not logged)",
                         describe(options_.endpoint), reason, detail, held_back);
    }
    for (auto& p : failed) finish(p.done, std::nullopt, detail);
    if (was_up && on_state_) guard_.run("state handler", [&] { on_state_(false, detail); });
    schedule_reconnect();
}

void RedisClient::schedule_reconnect() {
    if (stopped_) return;
    backoff_ = std::min(options_.reconnect_max, std::max(options_.reconnect_min, backoff_ * 2));
    // Jitter of up to a quarter: controllers that lost Redis together do not return in step.
    const auto spread = std::max<long long>(1, backoff_.count() / 4);
    const auto wait = backoff_ + std::chrono::milliseconds(jitter_() % spread);
    retry_timer_.expires_after(wait);
    std::weak_ptr<RedisClient> weak = shared_from_this();
    retry_timer_.async_wait([weak](const boost::system::error_code& ec) {
        auto s = weak.lock();
        if (!s || ec) return;
        s->guard_.run("reconnect", [&] { s->connect(); });
    });
}

}  // namespace talkgate::ha
