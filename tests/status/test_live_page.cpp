// The live web page's server side: its files served without a token, GET /events as a stream of
// server-sent events that carries each change at once, bounded in clients and backlog, ended
// before the listener closes.
#include "metrics/talkgate_metrics.hpp"
#include "polling.hpp"
#include "status/live_events.hpp"
#include "status/status_server.hpp"
#include "status_test_support.hpp"

#include <gtest/gtest.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>

#include <sys/socket.h>
#include <sys/time.h>

#include <chrono>
#include <memory>
#include <string>

namespace talkgate::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// A GET /events client on a raw socket: decodes the chunked body and splits it into events.
class EventStreamClient {
  public:
    EventStreamClient(unsigned short port, const std::string& token) : socket_(io_) {
        socket_.connect({boost::asio::ip::make_address("127.0.0.1"), port});
        // Reads give up after 100 ms, so every wait below is bounded by its count of tries.
        timeval tv{0, 100 * 1000};
        ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        boost::asio::write(socket_, boost::asio::buffer("GET /events HTTP/1.1\r\nHost: t\r\n"
                                                        "Authorization: Bearer " +
                                                        token + "\r\n\r\n"));
    }

    // The status line, once the head arrived ("" if it did not within `tries` reads).
    std::string status_line(int tries = 50) {
        while (head_.empty() && tries-- > 0) read_some();
        return head_.substr(0, head_.find("\r\n"));
    }
    const std::string& head() const { return head_; }

    // The next event's text (without its blank line); "" when none came within `tries` reads.
    std::string next_event(int tries = 50) {
        for (;;) {
            const auto end = body_.find("\n\n");
            if (end != std::string::npos) {
                std::string event = body_.substr(0, end);
                body_.erase(0, end + 2);
                return event;
            }
            if (ended_ || tries-- <= 0) return "";
            read_some();
        }
    }

    // True once the server ended the body (the last chunk) within `tries` reads.
    bool ended(int tries = 50) {
        while (!ended_ && tries-- > 0) read_some();
        return ended_;
    }

  private:
    void read_some() {
        char data[4096];
        // recv() itself, not asio's read_some: that one polls on past the receive timeout.
        const ssize_t n = ::recv(socket_.native_handle(), data, sizeof data, 0);
        if (n == 0) ended_ = true;
        if (n <= 0) return;
        raw_.append(data, static_cast<std::size_t>(n));
        if (head_.empty()) {
            const auto end = raw_.find("\r\n\r\n");
            if (end == std::string::npos) return;
            head_ = raw_.substr(0, end + 4);
            raw_.erase(0, end + 4);
        }
        for (;;) {  // chunks: HEX\r\nDATA\r\n, the last one of size 0
            const auto line = raw_.find("\r\n");
            if (line == std::string::npos) return;
            const std::size_t size = std::stoul(raw_.substr(0, line), nullptr, 16);
            if (raw_.size() < line + 2 + size + 2) return;
            body_ += raw_.substr(line + 2, size);
            raw_.erase(0, line + 2 + size + 2);
            if (size == 0) ended_ = true;
        }
    }

    boost::asio::io_context io_;
    boost::asio::ip::tcp::socket socket_;
    std::string raw_, head_, body_;
    bool ended_ = false;
};

json data_of(const std::string& event) {
    const auto at = event.find("\ndata: ");
    if (at == std::string::npos) return json();
    return json::parse(event.substr(at + 7), nullptr, false);
}

status::LiveView view_with(std::uint64_t seq, const std::string& dn) {
    status::LiveView v;
    v.seq = seq;
    v.now_ms = 1000;
    v.calls = {make_call("g" + std::to_string(seq), dn, "UUID-" + dn, "ringing")};
    v.latency = {{dn, 3, 12.5, 40.0, 41.0, 12.0}};
    v.latency_window_s = 3600;
    return v;
}

class LivePageTest : public ::testing::Test {
  protected:
    void start(status::LiveEvents::Limits limits = {}) {
        status::StatusServerOptions o;
        o.port = free_loopback_port();
        o.token = token_;
        o.live = limits;
        server_ = std::make_unique<status::StatusServer>(o, source_, metrics_.registry);
        std::string error;
        ASSERT_TRUE(server_->start(error)) << error;
        port_ = o.port;
    }

    metrics::TalkgateMetrics metrics_;
    FakeSource source_;
    std::unique_ptr<status::StatusServer> server_;
    unsigned short port_ = 0;
    const std::string token_ = "live-page-test-token-0123456789";
};

TEST_F(LivePageTest, ThePagesFilesNeedNoTokenAndAllowOnlyTheServersOwnScripts) {
    start();
    const auto url = server_->url();
    auto index = http_request(url, "GET", "/");
    EXPECT_EQ(index.status, 200);
    EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
    EXPECT_NE(index.body.find("<form id=\"login\""), std::string::npos);
    EXPECT_NE(index.body.find("<script src=\"/page.js\">"), std::string::npos);
    EXPECT_NE(index.headers["Content-Security-Policy"].find("script-src 'self'"),
              std::string::npos);
    EXPECT_EQ(index.headers["X-Content-Type-Options"], "nosniff");
    EXPECT_EQ(http_request(url, "GET", "/index.html").body, index.body);
    auto script = http_request(url, "GET", "/page.js");
    EXPECT_EQ(script.status, 200);
    EXPECT_EQ(script.content_type, "text/javascript; charset=utf-8");
    EXPECT_NE(script.body.find("sessionStorage"), std::string::npos);
    EXPECT_EQ(http_request(url, "GET", "/page.css").content_type, "text/css; charset=utf-8");
    EXPECT_EQ(http_request(url, "POST", "/").status, 405);
    EXPECT_EQ(http_request(url, "GET", "/page.map").status, 401);  // not a page file
}

TEST_F(LivePageTest, EventsNeedTheTokenAndTakeNoQuery) {
    start();
    const auto url = server_->url();
    EXPECT_EQ(http_request(url, "GET", "/events").status, 401);
    EXPECT_EQ(http_request(url, "GET", "/events", "wrong-token-0123456789").status, 401);
    EXPECT_EQ(http_request(url, "GET", "/events?token=" + token_).status, 401);
    EXPECT_EQ(http_request(url, "GET", "/events?x=1", token_).status, 400);
    EXPECT_EQ(http_request(url, "POST", "/events", token_).status, 405);
}

// Each view is flushed as its own event while the response stays open; an older view never
// overtakes a newer one; a client that reads keeps its stream however much it read in all (only
// the unread backlog counts); stop() ends the stream and still closes the listener.
TEST_F(LivePageTest, EachChangeReachesAnOpenStreamAtOnceAndStopEndsIt) {
    source_.set_live(view_with(1, "1002"));
    status::LiveEvents::Limits limits;
    limits.max_backlog_bytes = 2048;  // a view is about 700 bytes: 20 of them pass it
    start(limits);
    EventStreamClient client(port_, token_);
    EXPECT_EQ(client.status_line(), "HTTP/1.1 200 OK");
    EXPECT_NE(client.head().find("text/event-stream"), std::string::npos) << client.head();
    EXPECT_EQ(client.next_event(), "retry: 3000");
    const std::string first = client.next_event();
    EXPECT_EQ(first.substr(0, 18), "event: view\nid: 1\n") << first;
    json v1 = data_of(first);
    ASSERT_TRUE(v1.is_object()) << first;
    EXPECT_EQ(v1["calls"][0]["dn"], "1002");
    EXPECT_EQ(v1["latency"][0]["p95_ms"], 40.0);

    auto watcher = source_.watcher();
    ASSERT_NE(watcher, nullptr);
    EXPECT_TRUE(watcher->watching());
    for (std::uint64_t seq = 2; seq <= 21; ++seq) {
        watcher->changed(view_with(seq, "100" + std::to_string(seq)));
        const std::string next = client.next_event();
        EXPECT_EQ(data_of(next)["seq"], seq) << next;
        EXPECT_EQ(data_of(next)["calls"][0]["dn"], "100" + std::to_string(seq));
    }
    watcher->changed(view_with(3, "stale"));
    watcher->changed(view_with(22, "1022"));
    EXPECT_EQ(data_of(client.next_event())["seq"], 22);  // 3 was skipped

    EXPECT_TRUE(server_->stop());
    EXPECT_TRUE(client.ended());
    EXPECT_FALSE(watcher->watching());
}

TEST_F(LivePageTest, NoMoreClientsThanTheLimit) {
    status::LiveEvents::Limits limits;
    limits.max_clients = 2;
    start(limits);
    EventStreamClient a(port_, token_), b(port_, token_);
    EXPECT_EQ(a.status_line(), "HTTP/1.1 200 OK");
    EXPECT_EQ(b.status_line(), "HTTP/1.1 200 OK");
    EventStreamClient c(port_, token_);
    EXPECT_EQ(c.status_line(), "HTTP/1.1 503 Service Unavailable");
    EXPECT_TRUE(server_->stop());
}

// A page that went away is found by the next keep-alive comment, and its slot is free again.
TEST_F(LivePageTest, AClientThatLeftIsForgottenAtTheNextKeepAlive) {
    status::LiveEvents::Limits limits;
    limits.max_clients = 1;
    limits.heartbeat = 50ms;
    start(limits);
    auto gone = std::make_unique<EventStreamClient>(port_, token_);
    EXPECT_EQ(gone->status_line(), "HTTP/1.1 200 OK");
    EXPECT_EQ(EventStreamClient(port_, token_).status_line(), "HTTP/1.1 503 Service Unavailable");
    gone.reset();
    auto watcher = source_.watcher();
    ASSERT_NE(watcher, nullptr);
    EXPECT_TRUE(wait_until([&] { return !watcher->watching(); }, 5s));
    EventStreamClient next(port_, token_);
    EXPECT_EQ(next.status_line(), "HTTP/1.1 200 OK");
    EXPECT_EQ(next.next_event(), "retry: 3000");
    EXPECT_EQ(next.next_event(), ": keepalive");
    EXPECT_TRUE(server_->stop());
}

// A client that reads nothing is dropped once its backlog passes the limit: memory stays
// bounded and the others go on.
TEST(LiveEvents, AClientThatDoesNotReadIsDroppedAtItsBacklogLimit) {
    status::LiveEvents::Limits limits;
    limits.max_backlog_bytes = 16 * 1024;
    auto live = std::make_shared<status::LiveEvents>(
        limits, std::make_shared<logging::HandlerGuard>("test"));
    auto slow = live->open();
    ASSERT_TRUE(slow);
    status::LiveView big = view_with(1, "1002");
    big.calls.resize(40, big.calls[0]);  // about 12 KiB a view
    big.seq = 1;
    live->send_to(slow->first, big);
    EXPECT_TRUE(slow->second.can_write());
    EXPECT_EQ(live->dropped(), 0u);
    big.seq = 2;
    live->send_to(slow->first, big);
    EXPECT_FALSE(slow->second.can_write());
    EXPECT_EQ(live->dropped(), 1u);
    EXPECT_LE(slow->second.in_avail(), limits.max_backlog_bytes);
    live->close_all();
    EXPECT_FALSE(live->open());
}

}  // namespace
}  // namespace talkgate::test
