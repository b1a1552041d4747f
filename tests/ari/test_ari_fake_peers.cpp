// ari-client against fake loopback peers, for what the real Asterisk won't do on demand:
// slow and failing REST replies, dropped and half-open sockets, malformed, oversized and
// floods of events.
#include "ari_test_util.hpp"
#include "fake_server.hpp"
#include "polling.hpp"

#include <ari/event_stream.hpp>
#include <ari/rest_client.hpp>

#include <gtest/gtest.h>
#include <boost/beast/core/detail/base64.hpp>

#include <poll.h>

#include <condition_variable>
#include <future>

namespace {

using namespace std::chrono_literals;
using namespace ari_test;
using Kind = ari::ConnectionState::Kind;
namespace websocket = beast::websocket;

const char* kPassword = "s3cret-Pa55";

ari::ClientConfig fake_config(const FakeServer& server) {
    ari::ClientConfig c;
    c.base_url = server.url();
    c.user = "tester";
    c.password = kPassword;
    c.app = "fakeapp";
    c.request_timeout = 500ms;
    c.ping_interval = 200ms;
    c.pong_timeout = 400ms;
    c.connect_timeout = 2s;
    c.backoff_initial = 50ms;
    c.backoff_max = 200ms;
    return c;
}

std::string expected_auth() {
    const std::string plain = std::string("tester:") + kPassword;
    std::string out(beast::detail::base64::encoded_size(plain.size()), '\0');
    out.resize(beast::detail::base64::encode(out.data(), plain.data(), plain.size()));
    return "Basic " + out;
}

// What a fake peer saw of a request, for assertions after the fact.
struct Seen {
    std::mutex mu;
    std::vector<std::string> targets;
    std::vector<std::string> auth;
    void add(const http::request<http::string_body>& req) {
        std::lock_guard lock(mu);
        targets.push_back(std::string(req.target()));
        auth.push_back(std::string(req[http::field::authorization]));
    }
};

void reply(tcp::socket& s, http::status status, const std::string& body) {
    http::response<http::string_body> res{status, 11};
    res.set(http::field::content_type, "application/json");
    res.body() = body;
    res.prepare_payload();
    http::write(s, res);
}

// A one-shot gate a session or a task waits on.
class Gate {
  public:
    void open() {
        {
            std::lock_guard lock(mu_);
            open_ = true;
        }
        cv_.notify_all();
    }
    bool wait(std::chrono::milliseconds d) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, d, [this] { return open_; });
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    bool open_ = false;
};

std::string event_json(int n) {
    return R"({"type":"ChannelVarset","timestamp":"t","application":"fakeapp","variable":"N",)"
           R"("value":")" +
           std::to_string(n) + R"(","channel":{"id":"c)" + std::to_string(n) + R"("}})";
}

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds d) {
    return talkgate::test::wait_until(pred, d, 10ms);
}

TEST(AriRestFake, ReplySlowerThanTheDeadlineIsATimeoutError) {
    Gate release;
    FakeServer server([&](tcp::socket& s) {
        beast::flat_buffer buf;
        http::request<http::string_body> req;
        http::read(s, buf, req);
        release.wait(10s);
    });
    TaskThread worker;
    ari::RestClient rest(fake_config(server), worker.executor());
    const auto t0 = std::chrono::steady_clock::now();
    auto r = sync<nlohmann::json>([&](auto h) { rest.asterisk_info(h); }, 5s);
    const auto took = std::chrono::steady_clock::now() - t0;
    release.open();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ari::Error::Kind::timeout) << r.error().describe();
    EXPECT_GE(took, 450ms);
    EXPECT_LT(took, 3s) << "the deadline must hold while the server stays silent";
}

// Asterisk keeps serving a request talkgate gave up on, in one of its HTTP sessions (100 by
// default): the client's cap on requests on the wire (48) must count such a request until the
// peer is done with it. Cancelling at the deadline freed the slot at once, and at 100 calls/s a
// slow Asterisk refused new sessions ("session count exceeded").
TEST(AriRestFake, ARequestPastItsDeadlineHoldsItsSlotUntilThePeerIsDone) {
    constexpr int kCap = 48;
    Gate release, release_later;
    std::atomic<int> received{0};
    FakeServer server([&](tcp::socket& s) {
        beast::flat_buffer buf;
        http::request<http::string_body> req;
        http::read(s, buf, req);
        const int n = ++received;
        (n <= kCap ? release : release_later).wait(10s);
        reply(s, http::status::ok, R"({"system":{"version":"22.0.0"}})");
    });
    TaskThread worker;
    auto config = fake_config(server);
    config.request_timeout = 1s;
    ari::RestClient rest(config, worker.executor());
    std::atomic<int> timeouts{0}, answered{0};
    auto fire = [&](int n) {
        for (int i = 0; i < n; ++i)
            rest.asterisk_info([&](ari::Result<nlohmann::json> r) {
                if (r) ++answered;
                if (!r && r.error().kind == ari::Error::Kind::timeout) ++timeouts;
            });
    };
    fire(kCap);
    ASSERT_TRUE(eventually([&] { return timeouts == kCap; }, 5s)) << timeouts;
    EXPECT_EQ(received, kCap);
    // The peer still holds all of them: later requests wait for a slot, and time out waiting.
    fire(20);
    ASSERT_TRUE(eventually([&] { return timeouts == kCap + 20; }, 5s)) << timeouts;
    EXPECT_FALSE(eventually([&] { return received > kCap; }, 300ms))
        << received << " requests reached a peer that was serving " << kCap;

    // The peer answers the held ones: every slot comes back, so a full cap of new requests
    // reaches it at once (and every old reply has been handled before the test ends).
    release.open();
    fire(kCap);
    EXPECT_TRUE(eventually([&] { return received == 2 * kCap; }, 5s)) << received;
    release_later.open();
    EXPECT_TRUE(eventually([&] { return answered == kCap; }, 5s)) << answered;
}

// Issue 11: a completion handler that throws is counted through on_handler_error and the
// client serves the next call.
TEST(AriRestFake, ACompletionHandlerThatThrowsIsCountedAndTheClientGoesOn) {
    FakeServer server([&](tcp::socket& s) {
        beast::flat_buffer buf;
        boost::system::error_code ec;
        for (int i = 0; i < 2 && !ec; ++i) {
            http::request<http::string_body> req;
            http::read(s, buf, req, ec);
            if (!ec) reply(s, http::status::ok, R"({"system":{"version":"22.0.0"}})");
        }
    });
    auto c = fake_config(server);
    std::atomic<int> errors{0};
    c.on_handler_error = [&errors] { ++errors; };
    TaskThread worker;
    ari::RestClient rest(c, worker.executor());
    rest.asterisk_info([](auto) { throw std::runtime_error("handler bug"); });
    ASSERT_TRUE(eventually([&] { return errors.load() == 1; }, 5s));
    auto r = sync<nlohmann::json>([&](auto h) { rest.asterisk_info(h); }, 5s);
    ASSERT_TRUE(r) << r.error().describe();
    EXPECT_EQ(errors.load(), 1);
}

TEST(AriRestFake, HttpErrorCarriesStatusAndAsteriskMessageAndAuthIsOnlyInTheHeader) {
    Seen seen;
    FakeServer server([&](tcp::socket& s) {
        beast::flat_buffer buf;
        for (int i = 0; i < 3; ++i) {
            http::request<http::string_body> req;
            http::read(s, buf, req);
            seen.add(req);
            if (req.target().find("/variable") != beast::string_view::npos)
                reply(s, http::status::ok, R"({"value":"abc@127.0.0.2"})");
            else if (req.method() == http::verb::post)
                reply(s, http::status::no_content, "");
            else
                reply(s, http::status::not_found, R"({"message":"Channel not found"})");
        }
    });
    TaskThread worker;
    ari::RestClient rest(fake_config(server), worker.executor());
    std::thread::id ran_on;
    auto r = sync<ari::Channel>([&](auto h) {
        rest.channel_get("a b/c", [h, &ran_on](ari::Result<ari::Channel> r) {
            ran_on = std::this_thread::get_id();
            h(std::move(r));
        });
    });
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ari::Error::Kind::http);
    EXPECT_EQ(r.error().http_status, 404);
    EXPECT_EQ(r.error().message, "Channel not found");
    EXPECT_EQ(r.error().describe(), "HTTP 404: Channel not found");
    EXPECT_EQ(ran_on, worker.id()) << "completions run on the executor";

    auto v = sync<std::string>([&](auto h) {
        rest.channel_get_variable("1.2", "PJSIP_HEADER(read,X-Genesys-CallUUID)", h);
    });
    ASSERT_TRUE(v) << v.error().describe();
    EXPECT_EQ(v.value(), "abc@127.0.0.2");
    auto answered = sync<ari::NoContent>([&](auto h) { rest.channel_answer("1.2", h); });
    EXPECT_TRUE(answered) << answered.error().describe();

    std::lock_guard lock(seen.mu);
    ASSERT_EQ(seen.targets.size(), 3u);
    EXPECT_EQ(seen.targets[0], "/ari/channels/a%20b%2Fc");
    EXPECT_EQ(seen.targets[1],
              "/ari/channels/1.2/variable?variable=PJSIP_HEADER%28read%2CX-Genesys-CallUUID%29");
    EXPECT_EQ(seen.targets[2], "/ari/channels/1.2/answer");
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(seen.auth[i], expected_auth());
        EXPECT_EQ(seen.targets[i].find(kPassword), std::string::npos);
    }
}

TEST(AriRestFake, RefusedConnectionIsATransportErrorAndDestroyingDropsPendingCalls) {
    int port = 0;
    {
        FakeServer closed([](tcp::socket&) {});
        port = closed.port();
    }
    TaskThread worker;
    ari::ClientConfig c;
    c.base_url = "http://127.0.0.1:" + std::to_string(port);
    c.user = "u";
    c.password = kPassword;
    c.app = "a";
    c.request_timeout = 2s;
    ari::RestClient rest(c, worker.executor());
    auto r = sync<nlohmann::json>([&](auto h) { rest.asterisk_info(h); }, 5s);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ari::Error::Kind::transport) << r.error().describe();

    Gate release;
    FakeServer silent([&](tcp::socket& s) {
        beast::flat_buffer buf;
        http::request<http::string_body> req;
        http::read(s, buf, req);
        release.wait(10s);
    });
    std::atomic<int> called{0};
    {
        ari::ClientConfig sc = fake_config(silent);
        sc.request_timeout = 5s;
        ari::RestClient pending(sc, worker.executor());
        pending.asterisk_info([&](ari::Result<nlohmann::json>) { ++called; });
        ASSERT_TRUE(eventually([&] { return silent.accepted() == 1; }, 2s));
    }
    release.open();
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(called, 0) << "no completion after the client is gone";
}

// A keep-alive peer like Asterisk's HTTP server (session_keep_alive): it answers requests on a
// connection until the connection has been idle for `idle_close`, then closes it. `hold`
// delays each reply so that concurrent requests each open their own connection.
FakeServer keep_alive_server(std::chrono::milliseconds idle_close, std::chrono::milliseconds hold,
                             std::atomic<int>& served) {
    return FakeServer([idle_close, hold, &served](tcp::socket& s) {
        beast::flat_buffer buf;
        for (int i = 0; i < 1000; ++i) {
            pollfd p{s.native_handle(), POLLIN, 0};
            if (buf.size() == 0 && ::poll(&p, 1, static_cast<int>(idle_close.count())) == 0) {
                s.close();
                return;
            }
            http::request<http::string_body> req;
            http::read(s, buf, req);
            std::this_thread::sleep_for(hold);
            ++served;  // before the reply: the client may count as soon as it has it
            reply(s, http::status::ok, R"({"ok":true})");
        }
    });
}

// A POST with a body writes headers and body separately: on a connection the peer closed
// while it sat in the pool, the body write fails ("Failed to write request body").
std::vector<ari::Result<nlohmann::json>> post_with_bodies(ari::RestClient& rest, int n) {
    std::vector<std::future<ari::Result<nlohmann::json>>> pending;
    for (int i = 0; i < n; ++i) {
        auto p = std::make_shared<std::promise<ari::Result<nlohmann::json>>>();
        pending.push_back(p->get_future());
        rest.request("POST", "/channels/create", "endpoint=PJSIP%2F100" + std::to_string(i),
                     nlohmann::json{{"variables", {{"N", std::to_string(i)}}}},
                     [p](ari::Result<nlohmann::json> r) { p->set_value(std::move(r)); });
    }
    std::vector<ari::Result<nlohmann::json>> out;
    for (auto& f : pending) {
        if (f.wait_for(5s) != std::future_status::ready) {
            out.push_back(ari::Error{ari::Error::Kind::timeout, 0, "test: no completion"});
            continue;
        }
        out.push_back(f.get());
    }
    return out;
}

void expect_all_ok(const std::vector<ari::Result<nlohmann::json>>& results, int round) {
    for (const auto& r : results)
        EXPECT_TRUE(r) << "round " << round << ": " << r.error().describe();
}

TEST(AriRestFake, QuietPeriodsLongerThanThePeersKeepAliveCostNoRequest) {
    std::atomic<int> served{0};
    FakeServer server = keep_alive_server(800ms, 30ms, served);
    TaskThread worker;
    ari::ClientConfig c = fake_config(server);
    c.request_timeout = 2s;
    c.pool_idle_limit =
        400ms;  // shorter than the peer's keep-alive, as 10 s is for Asterisk's 15 s
    ari::RestClient rest(c, worker.executor());
    for (int round = 0; round < 3; ++round) {
        expect_all_ok(post_with_bodies(rest, 4), round);
        std::this_thread::sleep_for(1200ms);  // every pooled connection is closed by the peer
    }
    expect_all_ok(post_with_bodies(rest, 4), 3);
    EXPECT_EQ(served, 16);
}

TEST(AriRestFake, StaleConnectionsLeftInThePoolAreRetriedOnAFreshConnection) {
    std::atomic<int> served{0};
    FakeServer server = keep_alive_server(800ms, 30ms, served);
    TaskThread worker;
    ari::ClientConfig c = fake_config(server);
    c.request_timeout = 2s;
    c.pool_idle_limit = std::chrono::hours(1);  // only the retry can save a request here
    ari::RestClient rest(c, worker.executor());
    for (int round = 0; round < 3; ++round) {
        expect_all_ok(post_with_bodies(rest, 6), round);  // six pooled connections
        std::this_thread::sleep_for(1200ms);
    }
    expect_all_ok(post_with_bodies(rest, 6), 3);
    EXPECT_EQ(served, 24);
}

// A fake /ari/events endpoint: records the upgrade request, then runs `script`.
FakeServer ws_server(Seen& seen,
                     std::function<void(websocket::stream<tcp::socket&>&, int)> script) {
    auto count = std::make_shared<std::atomic<int>>(0);
    return FakeServer([&seen, script, count](tcp::socket& s) {
        beast::flat_buffer buf;
        http::request<http::string_body> req;
        http::read(s, buf, req);
        seen.add(req);
        websocket::stream<tcp::socket&> ws(s);
        ws.accept(req);
        script(ws, ++*count);
    });
}

void read_until_closed(websocket::stream<tcp::socket&>& ws) {
    beast::flat_buffer b;
    boost::system::error_code ec;
    while (!ec) ws.read(b, ec);
}

struct StreamFixture {
    explicit StreamFixture(ari::ClientConfig c, ari::Executor ex = {})
        : stream(c, ex ? ex : worker.executor(), rec.event_handler(), rec.state_handler()) {
        stream.start();
    }
    TaskThread worker;
    Recorder rec;
    ari::EventStream stream;
};

TEST(AriEventsFake, EventsArriveInOrderOnTheExecutorWithCredentialsOnlyInTheHeader) {
    Seen seen;
    auto server = ws_server(seen, [](auto& ws, int) {
        for (int i = 0; i < 20; ++i) ws.write(boost::asio::buffer(event_json(i)));
        read_until_closed(ws);
    });
    StreamFixture f(fake_config(server));
    ASSERT_TRUE(f.rec.state(Kind::connected, 5s));
    for (int i = 0; i < 20; ++i) {
        auto e = f.rec.next<ari::ChannelVarset>(2s);
        ASSERT_TRUE(e) << "event " << i;
        EXPECT_EQ(e->value, std::to_string(i)) << "order kept";
    }
    for (auto id : f.rec.threads()) EXPECT_EQ(id, f.worker.id());
    std::lock_guard lock(seen.mu);
    ASSERT_EQ(seen.targets.size(), 1u);
    EXPECT_EQ(seen.targets[0], "/ari/events?app=fakeapp");
    EXPECT_EQ(seen.auth[0], expected_auth());
}

TEST(AriEventsFake, DroppedSocketIsReportedAndReconnectedWithBackoff) {
    Seen seen;
    auto server = ws_server(seen, [](auto& ws, int n) {
        ws.write(boost::asio::buffer(event_json(n)));
        if (n < 3) {
            ws.next_layer().close();  // the server vanishes without a close frame
            return;
        }
        read_until_closed(ws);
    });
    StreamFixture f(fake_config(server));
    ASSERT_TRUE(f.rec.state(Kind::connected, 5s));
    auto down = f.rec.state(Kind::disconnected, 5s);
    ASSERT_TRUE(down);
    EXPECT_NE(down->reason.find("closed"), std::string::npos) << down->reason;
    ASSERT_TRUE(f.rec.state(Kind::reconnected, 5s));
    ASSERT_TRUE(f.rec.state(Kind::reconnected, 5s)) << "third connection";
    auto last = f.rec.next<ari::ChannelVarset>(
        [](const ari::ChannelVarset& e) { return e.value == "3"; }, 5s);
    EXPECT_TRUE(last) << "events of the new connection are delivered";
    EXPECT_EQ(f.stream.stats().connects, 3u);
    EXPECT_GE(f.stream.stats().failures, 2u);
}

TEST(AriEventsFake, SilentServerIsDetectedWithinThePongDeadline) {
    Seen seen;
    Gate release;
    auto server = ws_server(seen, [&](auto& ws, int n) {
        if (n == 1) {
            release.wait(10s);  // never reads: pings go unanswered, TCP stays up
            return;
        }
        read_until_closed(ws);
    });
    StreamFixture f(fake_config(server));
    ASSERT_TRUE(f.rec.state(Kind::connected, 5s));
    const auto t0 = std::chrono::steady_clock::now();
    auto down = f.rec.state(Kind::disconnected, 5s);
    const auto took = std::chrono::steady_clock::now() - t0;
    release.open();
    ASSERT_TRUE(down) << "half-open socket not detected";
    EXPECT_NE(down->reason.find("pong"), std::string::npos) << down->reason;
    EXPECT_LT(took, 2s) << "ping every 200 ms + pong deadline 400 ms";
    EXPECT_GE(f.stream.stats().pong_timeouts, 1u);
    EXPECT_TRUE(f.rec.state(Kind::reconnected, 5s));
}

TEST(AriEventsFake, MalformedAndOversizedEventsAreCountedAndTheStreamGoesOn) {
    Seen seen;
    auto server = ws_server(seen, [](auto& ws, int) {
        ws.write(boost::asio::buffer(std::string("not json")));
        ws.write(boost::asio::buffer(std::string(R"({"type":"StasisStart")")));
        ws.write(boost::asio::buffer(std::string(R"({"type":"StasisEnd"})")));
        std::string big = R"({"type":"ChannelVarset","variable":"BIG","value":")" +
                          std::string(200 * 1024, 'x') + R"("})";
        ws.write(boost::asio::buffer(big));
        ws.write(boost::asio::buffer(event_json(7)));
        read_until_closed(ws);
    });
    auto c = fake_config(server);
    c.max_event_bytes = 64 * 1024;
    StreamFixture f(c);
    ASSERT_TRUE(f.rec.state(Kind::connected, 5s));
    auto ok = f.rec.next<ari::ChannelVarset>(5s);
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->value, "7");
    const auto s = f.stream.stats();
    EXPECT_EQ(s.received, 5u);
    EXPECT_EQ(s.malformed, 3u);
    EXPECT_EQ(s.oversized, 1u);
    EXPECT_EQ(s.delivered, 1u);
    EXPECT_FALSE(f.rec.state(Kind::disconnected, 300ms)) << "bad events do not cost the socket";
}

// Issue 11: an event handler that throws costs that event only: counted through
// on_handler_error, and the next event is delivered on the same connection.
TEST(AriEventsFake, AHandlerThatThrowsIsCountedAndTheNextEventIsDelivered) {
    Seen seen;
    auto server = ws_server(seen, [](auto& ws, int) {
        for (int i = 0; i < 3; ++i) ws.write(boost::asio::buffer(event_json(i)));
        read_until_closed(ws);
    });
    auto c = fake_config(server);
    std::atomic<int> errors{0};
    c.on_handler_error = [&errors] { ++errors; };
    TaskThread worker;
    Recorder rec;
    auto record = rec.event_handler();
    ari::EventStream stream(
        c, worker.executor(),
        [record](ari::Event e) {
            auto* v = std::get_if<ari::ChannelVarset>(&e);
            if (v && v->value == "1") throw std::runtime_error("handler bug");
            record(std::move(e));
        },
        rec.state_handler());
    stream.start();
    ASSERT_TRUE(rec.state(Kind::connected, 5s));
    auto first = rec.next<ari::ChannelVarset>(2s);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->value, "0");
    auto third = rec.next<ari::ChannelVarset>(2s);
    ASSERT_TRUE(third);
    EXPECT_EQ(third->value, "2");
    EXPECT_EQ(errors.load(), 1);
    EXPECT_EQ(stream.stats().handler_errors, 1u);
    EXPECT_FALSE(rec.state(Kind::disconnected, 300ms)) << "a handler's bug costs no socket";
}

TEST(AriEventsFake, FullQueueDropsAndCountsWithoutBlockingTheReadLoop) {
    Seen seen;
    Gate sent_all;
    auto server = ws_server(seen, [&](auto& ws, int) {
        for (int i = 0; i < 50; ++i) ws.write(boost::asio::buffer(event_json(i)));
        sent_all.open();
        read_until_closed(ws);
    });
    TaskThread app;
    Gate unblock;
    app.post([&] { unblock.wait(10s); });  // the application is busy
    auto c = fake_config(server);
    c.event_queue_capacity = 5;
    StreamFixture f(c, app.executor());
    ASSERT_TRUE(sent_all.wait(5s));
    ASSERT_TRUE(eventually([&] { return f.stream.stats().received == 50; }, 5s));
    // The read loop still answers pings while the application is stuck.
    std::this_thread::sleep_for(1s);
    EXPECT_EQ(f.stream.stats().pong_timeouts, 0u);
    unblock.open();
    ASSERT_TRUE(f.rec.state(Kind::connected, 5s));
    ASSERT_TRUE(eventually([&] { return f.stream.stats().delivered == 5; }, 5s));
    const auto s = f.stream.stats();
    EXPECT_EQ(s.dropped, 45u);
    EXPECT_EQ(s.delivered, 5u);
    for (int i = 0; i < 5; ++i) {
        auto e = f.rec.next<ari::ChannelVarset>(1s);
        ASSERT_TRUE(e);
        EXPECT_EQ(e->value, std::to_string(i)) << "the oldest are kept";
    }
    EXPECT_FALSE(f.rec.state(Kind::disconnected, 100ms));
}

TEST(AriEventsFake, RejectedHandshakeIsRetriedWithBackoffAndStopEndsIt) {
    std::atomic<int> tries{0};
    FakeServer server([&](tcp::socket& s) {
        ++tries;
        beast::flat_buffer buf;
        http::request<http::string_body> req;
        http::read(s, buf, req);
        reply(s, http::status::unauthorized, R"({"error":"Authentication required"})");
    });
    auto f = std::make_unique<StreamFixture>(fake_config(server));
    auto down = f->rec.state(Kind::disconnected, 5s);
    ASSERT_TRUE(down);
    EXPECT_NE(down->reason.find("401"), std::string::npos) << down->reason;
    EXPECT_EQ(down->reason.find(kPassword), std::string::npos);
    ASSERT_TRUE(eventually([&] { return tries >= 3; }, 5s)) << "keeps retrying";
    EXPECT_FALSE(f->rec.state(Kind::disconnected, 100ms)) << "one report per outage";
    const auto t0 = std::chrono::steady_clock::now();
    f->stream.stop();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
    const int after = tries;
    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(tries, after) << "no retry after stop()";
}

}  // namespace
