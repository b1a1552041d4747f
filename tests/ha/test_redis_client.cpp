// RedisClient on an io_context against a real redis-server (generated password, loopback) and
// against fake peers for what Redis does not do on demand: garbage and silence.
#include "ha/redis_client.hpp"

#include "polling.hpp"
#include "redis_server.hpp"

#include <gtest/gtest.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <map>

namespace talkgate::ha {
namespace {

using namespace std::chrono_literals;
using test::RedisServer;
using test::run_io_until;

struct Harness {
    boost::asio::io_context io;
    std::map<std::string, int> errors;
    std::vector<bool> states;
    std::shared_ptr<RedisClient> client;

    explicit Harness(RedisEndpoint ep, std::chrono::milliseconds timeout = 500ms) {
        RedisClient::Options o;
        o.endpoint = std::move(ep);
        o.command_timeout = timeout;
        o.connect_timeout = timeout;
        o.reconnect_max = 300ms;
        o.on_error = [this](const char* reason) { ++errors[reason]; };
        client = std::make_shared<RedisClient>(
            io, o, [this](bool up, const std::string&) { states.push_back(up); });
        client->start();
    }

    // Runs one command to its end; the reply or the error text.
    std::pair<std::optional<RedisReply>, std::string> run(std::vector<std::string> argv) {
        bool done = false;
        std::pair<std::optional<RedisReply>, std::string> out;
        client->command(std::move(argv), [&](std::optional<RedisReply> r, const std::string& e) {
            out = {std::move(r), e};
            done = true;
        });
        run_io_until(io, [&] { return done; });
        EXPECT_TRUE(done);
        return out;
    }
};

RedisEndpoint endpoint_of(const RedisServer& server) {
    RedisEndpoint ep;
    ep.host = "127.0.0.1";
    ep.port = static_cast<unsigned short>(server.port());
    ep.password = server.password();
    return ep;
}

TEST(RedisClient, AuthenticatesAndRunsPipelinedCommandsInOrder) {
    RedisServer server;
    ASSERT_TRUE(server.start());
    Harness h(endpoint_of(server));
    ASSERT_TRUE(run_io_until(h.io, [&] { return h.client->up(); }));
    std::vector<std::string> got;
    for (int i = 0; i < 20; ++i)
        h.client->command({"SET", "k" + std::to_string(i), std::to_string(i * i)},
                          [&](std::optional<RedisReply> r, const std::string&) {
                              got.push_back(r && r->is_ok() ? "OK" : "fail");
                          });
    for (int i = 0; i < 20; ++i)
        h.client->command({"GET", "k" + std::to_string(i)},
                          [&](std::optional<RedisReply> r, const std::string&) {
                              got.push_back(r ? r->text : "fail");
                          });
    ASSERT_TRUE(run_io_until(h.io, [&] { return got.size() == 40; }));
    for (int i = 0; i < 20; ++i) {
        EXPECT_EQ(got[static_cast<std::size_t>(i)], "OK");
        EXPECT_EQ(got[static_cast<std::size_t>(20 + i)], std::to_string(i * i));
    }
    auto r = h.run({"EVAL", "return {1, 'a', redis.call('GET', KEYS[1])}", "1", "k3"});
    ASSERT_TRUE(r.first);
    ASSERT_EQ(r.first->elements.size(), 3u);
    EXPECT_EQ(r.first->elements[2].text, "9");
    EXPECT_EQ(h.errors.size(), 0u);
}

TEST(RedisClient, AWrongPasswordIsRefusedCountedAndNeverUp) {
    RedisServer server;
    ASSERT_TRUE(server.start());
    auto ep = endpoint_of(server);
    ep.password = "not-the-password";
    Harness h(ep);
    EXPECT_TRUE(run_io_until(h.io, [&] { return h.errors["auth"] >= 2; }));
    EXPECT_FALSE(h.client->up());
    auto r = h.run({"PING"});
    EXPECT_FALSE(r.first);
    EXPECT_EQ(r.second, "not connected");
}

TEST(RedisClient, ARedisKilledAndStartedAgainIsReconnected) {
    RedisServer server;
    ASSERT_TRUE(server.start());
    Harness h(endpoint_of(server));
    ASSERT_TRUE(run_io_until(h.io, [&] { return h.client->up(); }));
    server.kill();
    ASSERT_TRUE(run_io_until(h.io, [&] { return !h.client->up(); }));
    auto r = h.run({"PING"});
    EXPECT_FALSE(r.first);
    EXPECT_GE(h.errors["closed"], 1);
    ASSERT_TRUE(server.start());
    ASSERT_TRUE(run_io_until(
        h.io, [&] { return h.client->up(); }, 1000));
    r = h.run({"PING"});
    ASSERT_TRUE(r.first);
    EXPECT_EQ(r.first->text, "PONG");
    EXPECT_EQ(h.states, (std::vector<bool>{true, false, true}));
}

// A loopback peer that answers every read with `reply` (or nothing when empty).
struct FakeRedis {
    boost::asio::io_context& io;
    boost::asio::ip::tcp::acceptor acceptor;
    std::string reply;
    int accepted = 0;
    std::vector<std::shared_ptr<boost::asio::ip::tcp::socket>> sockets;

    FakeRedis(boost::asio::io_context& io_, std::string reply_)
        : io(io_),
          acceptor(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}),
          reply(std::move(reply_)) {
        accept();
    }
    unsigned short port() const { return acceptor.local_endpoint().port(); }
    void accept() {
        auto s = std::make_shared<boost::asio::ip::tcp::socket>(io);
        acceptor.async_accept(*s, [this, s](const boost::system::error_code& ec) {
            if (ec) return;
            ++accepted;
            sockets.push_back(s);
            serve(s);
            accept();
        });
    }
    void serve(std::shared_ptr<boost::asio::ip::tcp::socket> s) {
        auto buf = std::make_shared<std::array<char, 1024>>();
        s->async_read_some(boost::asio::buffer(*buf),
                           [this, s, buf](const boost::system::error_code& ec, std::size_t) {
                               if (ec) return;
                               if (!reply.empty())
                                   boost::asio::async_write(
                                       *s, boost::asio::buffer(reply),
                                       [](const boost::system::error_code&, std::size_t) {});
                               serve(s);
                           });
    }
};

TEST(RedisClient, AMalformedReplyClosesTheConnectionAndItReconnects) {
    boost::asio::io_context io;
    FakeRedis fake(io, "%%% not RESP\r\n");
    RedisClient::Options o;
    o.endpoint.host = "127.0.0.1";
    o.endpoint.port = fake.port();
    o.reconnect_max = 100ms;
    std::map<std::string, int> errors;
    o.on_error = [&](const char* reason) { ++errors[reason]; };
    auto client = std::make_shared<RedisClient>(io, o, nullptr);
    client->start();
    EXPECT_TRUE(run_io_until(io, [&] { return errors["protocol"] >= 2 && fake.accepted >= 2; }));
    EXPECT_FALSE(client->up());
    client->stop();
    test::run_io_for(io, 5);
}

TEST(RedisClient, ASilentPeerHitsTheDeadline) {
    boost::asio::io_context io;
    FakeRedis fake(io, "");
    RedisClient::Options o;
    o.endpoint.host = "127.0.0.1";
    o.endpoint.port = fake.port();
    o.connect_timeout = 200ms;
    o.command_timeout = 200ms;
    std::map<std::string, int> errors;
    o.on_error = [&](const char* reason) { ++errors[reason]; };
    auto client = std::make_shared<RedisClient>(io, o, nullptr);
    client->start();
    EXPECT_TRUE(run_io_until(io, [&] { return errors["connect"] + errors["timeout"] >= 1; }));
    EXPECT_FALSE(client->up());
}

TEST(RedisClient, AThrowingReplyHandlerIsCaughtAndCounted) {
    RedisServer server;
    ASSERT_TRUE(server.start());
    boost::asio::io_context io;
    RedisClient::Options o;
    o.endpoint = endpoint_of(server);
    int handler_errors = 0;
    o.on_handler_error = [&] { ++handler_errors; };
    auto client = std::make_shared<RedisClient>(io, o, nullptr);
    client->start();
    ASSERT_TRUE(run_io_until(io, [&] { return client->up(); }));
    client->command({"PING"}, [](std::optional<RedisReply>, const std::string&) {
        throw std::runtime_error("handler bug");
    });
    bool second = false;
    client->command({"PING"}, [&](std::optional<RedisReply> r, const std::string&) {
        second = r && r->text == "PONG";
    });
    EXPECT_TRUE(run_io_until(io, [&] { return second; }));
    EXPECT_EQ(handler_errors, 1);
    EXPECT_TRUE(client->up());
}

}  // namespace
}  // namespace talkgate::ha
