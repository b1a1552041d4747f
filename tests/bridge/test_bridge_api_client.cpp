// BridgeApiClient against a loopback fake bridge API: shapes, retries, deadlines, a dead port.
#include "../ari/fake_server.hpp"
#include "bridge/bridge_api_client.hpp"
#include "fake_bridge_api.hpp"
#include "polling.hpp"

#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <poll.h>

#include <future>
#include <thread>

namespace talkgate::bridge {
namespace {

using namespace std::chrono_literals;
using test::FakeBridgeApi;

class BridgeApiClientTest : public ::testing::Test {
  protected:
    BridgeApiClientTest() : work_(io_.get_executor()), thread_([this] { io_.run(); }) {}
    ~BridgeApiClientTest() override {
        work_.reset();
        io_.stop();
        thread_.join();
    }

    BridgeApiClient::Outcome run(
        BridgeApiClient& client,
        std::function<void(BridgeApiClient&, BridgeApiClient::Handler)> f) {
        std::promise<BridgeApiClient::Outcome> p;
        auto fut = p.get_future();
        boost::asio::post(io_, [&] { f(client, [&p](const auto& o) { p.set_value(o); }); });
        if (fut.wait_for(10s) != std::future_status::ready) {
            ADD_FAILURE() << "no completion within 10 s";
            return {};
        }
        return fut.get();
    }

    BridgeApiClient::Settings settings(const std::string& url) {
        BridgeApiClient::Settings s;
        s.url_template = url;
        s.timeout = 500ms;
        s.retries = 2;
        s.backoff = 20ms;
        return s;
    }

    boost::asio::io_context io_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
    std::thread thread_;
};

TEST_F(BridgeApiClientTest, AnswerPostsToAnswerDn) {
    FakeBridgeApi api;
    BridgeApiClient client(io_, settings(api.url()));
    auto o = run(client, [](auto& c, auto done) { c.answer("1002", "", done); });
    EXPECT_TRUE(o.ok) << o.error;
    EXPECT_EQ(o.http_status, 200);
    EXPECT_EQ(o.attempts, 1);
    auto reqs = api.requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].method, "POST");
    EXPECT_EQ(reqs[0].path, "/answer/1002");
}

TEST_F(BridgeApiClientTest, NotifyPostsTheJsonTheDesktopExpects) {
    FakeBridgeApi api;
    BridgeApiClient client(io_, settings(api.url() + "/"));
    auto o = run(client, [](auto& c, auto done) {
        c.notify("1002", "", "D6F9-82@10.0.0.1", "UIVB8J6JE91C53UIM3VI59VHQ400001R", "talk", done);
    });
    EXPECT_TRUE(o.ok) << o.error;
    auto reqs = api.requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].path, "/genesys-call-notify");
    EXPECT_EQ(reqs[0].body, (nlohmann::json{{"dn", "1002"},
                                            {"call_id", "D6F9-82@10.0.0.1"},
                                            {"call_uuid", "UIVB8J6JE91C53UIM3VI59VHQ400001R"},
                                            {"event", "talk"}}));
}

TEST_F(BridgeApiClientTest, PerDnTemplateWithContactHost) {
    FakeBridgeApi api;
    BridgeApiClient client(
        io_, settings("http://{contact_host}:" + std::to_string(api.port()) + "/agents/{dn}"));
    EXPECT_TRUE(client.needs_contact_host());
    EXPECT_EQ(client.base_url("10/02", "127.0.0.1"),
              "http://127.0.0.1:" + std::to_string(api.port()) + "/agents/10%2F02");
    auto o = run(client, [](auto& c, auto done) { c.answer("1002", "127.0.0.1", done); });
    EXPECT_TRUE(o.ok) << o.error;
    ASSERT_EQ(api.requests().size(), 1u);
    EXPECT_EQ(api.requests()[0].path, "/agents/1002/answer/1002");
}

TEST_F(BridgeApiClientTest, CredentialsInTheUrlNeverReachTheLoggedUrl) {
    FakeBridgeApi api;
    BridgeApiClient client(
        io_, settings("http://desk:bridge-url-secret@127.0.0.1:" + std::to_string(api.port())));
    auto o = run(client, [](auto& c, auto done) { c.answer("1002", "", done); });
    EXPECT_EQ(o.url, "http://***@127.0.0.1:" + std::to_string(api.port()) + "/answer/1002");
    EXPECT_EQ(o.error.find("bridge-url-secret"), std::string::npos) << o.error;
}

// A desktop bridge that closes keep-alive connections idle for `idle_close`; `hold` delays
// each reply so that concurrent requests each open their own connection.
ari_test::FakeServer keep_alive_bridge(std::chrono::milliseconds idle_close,
                                       std::chrono::milliseconds hold, std::atomic<int>& served) {
    namespace http = ari_test::http;
    return ari_test::FakeServer([idle_close, hold, &served](ari_test::tcp::socket& s) {
        ari_test::beast::flat_buffer buf;
        for (int i = 0; i < 1000; ++i) {
            pollfd p{s.native_handle(), POLLIN, 0};
            if (buf.size() == 0 && ::poll(&p, 1, static_cast<int>(idle_close.count())) == 0) {
                s.close();
                return;
            }
            http::request<http::string_body> req;
            http::read(s, buf, req);
            std::this_thread::sleep_for(hold);
            http::response<http::string_body> res{http::status::ok, 11};
            res.body() = "{}";
            res.prepare_payload();
            ++served;  // before the reply: the client may count as soon as it has it
            http::write(s, res);
        }
    });
}

TEST_F(BridgeApiClientTest, ConnectionsTheDesktopClosedWhileIdleCostNoRequest) {
    for (auto idle_limit : {std::chrono::milliseconds(400), std::chrono::milliseconds(3600000)}) {
        SCOPED_TRACE("pool_idle_limit " + std::to_string(idle_limit.count()) + " ms");
        std::atomic<int> served{0};
        auto desktop = keep_alive_bridge(800ms, 30ms, served);
        auto s = settings(desktop.url());
        s.retries = 1;  // the one retry must land on a new connection
        s.pool_idle_limit = idle_limit;
        BridgeApiClient client(io_, s);
        for (int round = 0; round < 3; ++round) {
            // One request first: alone, it meets the pooled connections one after another.
            auto first = run(client, [](auto& c, auto done) {
                c.notify("1002", "", "cid", "uuid", "talk", done);  // a body: written apart
            });
            EXPECT_TRUE(first.ok) << "round " << round << ": " << first.error;
            std::vector<std::future<BridgeApiClient::Outcome>> pending;
            std::vector<std::shared_ptr<std::promise<BridgeApiClient::Outcome>>> promises;
            for (int i = 0; i < 4; ++i) {
                auto p = std::make_shared<std::promise<BridgeApiClient::Outcome>>();
                pending.push_back(p->get_future());
                boost::asio::post(io_, [&client, p, i] {
                    client.notify("100" + std::to_string(i), "", "cid", "uuid", "talk",
                                  [p](const auto& o) { p->set_value(o); });
                });
            }
            for (auto& f : pending) {
                ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
                auto o = f.get();
                EXPECT_TRUE(o.ok) << "round " << round << ": " << o.error;
            }
            std::this_thread::sleep_for(1200ms);  // the desktop closed every pooled connection
        }
        EXPECT_EQ(served, 15);
    }
}

TEST_F(BridgeApiClientTest, ServerErrorsAreRetriedWithinTheBound) {
    FakeBridgeApi api;
    api.fail_next(2, 503);
    BridgeApiClient client(io_, settings(api.url()));
    auto o = run(client, [](auto& c, auto done) { c.answer("1002", "", done); });
    EXPECT_TRUE(o.ok) << o.error;
    EXPECT_EQ(o.attempts, 3);
    EXPECT_EQ(api.requests().size(), 3u);
}

TEST_F(BridgeApiClientTest, GivesUpAfterRetriesAndReportsTheStatus) {
    FakeBridgeApi api;
    api.fail_next(10, 500);
    BridgeApiClient client(io_, settings(api.url()));
    auto o = run(client, [](auto& c, auto done) { c.answer("1002", "", done); });
    EXPECT_FALSE(o.ok);
    EXPECT_EQ(o.http_status, 500);
    EXPECT_EQ(o.attempts, 3);
    EXPECT_NE(o.error.find("HTTP 500"), std::string::npos) << o.error;
}

TEST_F(BridgeApiClientTest, ClientErrorsAreNotRetried) {
    FakeBridgeApi api;
    api.fail_next(1, 404);
    BridgeApiClient client(io_, settings(api.url()));
    auto o = run(client, [](auto& c, auto done) { c.answer("1002", "", done); });
    EXPECT_FALSE(o.ok);
    EXPECT_EQ(o.http_status, 404);
    EXPECT_EQ(o.attempts, 1);
}

TEST_F(BridgeApiClientTest, SlowServerHitsTheDeadlineAndIsNotRetried) {
    FakeBridgeApi api;
    api.delay_replies(1500ms);
    BridgeApiClient client(io_, settings(api.url()));
    auto o = run(client, [](auto& c, auto done) { c.answer("1002", "", done); });
    EXPECT_FALSE(o.ok);
    EXPECT_TRUE(o.timed_out) << o.error;
    EXPECT_EQ(o.attempts, 1);
}

TEST_F(BridgeApiClientTest, BridgeDownIsAConnectErrorRetriedThenReported) {
    const int dead_port = test::free_loopback_port();
    BridgeApiClient client(io_, settings("http://127.0.0.1:" + std::to_string(dead_port)));
    auto o = run(client, [](auto& c, auto done) { c.answer("1002", "", done); });
    EXPECT_FALSE(o.ok);
    EXPECT_FALSE(o.timed_out);
    EXPECT_EQ(o.http_status, 0);
    EXPECT_EQ(o.attempts, 3);
    EXPECT_FALSE(o.error.empty());
}

// Issue 11: a completion handler that throws is counted through on_handler_error (in talkgate
// talkgate_handler_errors_total{component="bridge_api"}) and the next request is served.
TEST_F(BridgeApiClientTest, ACompletionHandlerThatThrowsIsCountedAndTheClientGoesOn) {
    FakeBridgeApi api;
    std::atomic<int> errors{0};
    auto s = settings(api.url());
    s.on_handler_error = [&errors] { ++errors; };
    BridgeApiClient client(io_, s);
    boost::asio::post(io_, [&] {
        client.answer("1002", "", [](const auto&) { throw std::runtime_error("handler bug"); });
    });
    talkgate::test::wait_until([&] { return errors.load() != 0; }, 5s, 10ms);
    EXPECT_EQ(errors.load(), 1);
    auto o = run(client, [](auto& c, auto done) { c.answer("1003", "", done); });
    EXPECT_TRUE(o.ok) << o.error;
    EXPECT_EQ(errors.load(), 1);
    EXPECT_EQ(api.requests().size(), 2u);
}

TEST_F(BridgeApiClientTest, DisabledWhenNoUrl) {
    BridgeApiClient client(io_, settings(""));
    EXPECT_FALSE(client.enabled());
}

// Issue 11 regression: a non-UTF-8 CallUUID in the body once threw on the io thread.
TEST_F(BridgeApiClientTest, NotifyWithANonUtf8CallUuidStillPostsValidJson) {
    FakeBridgeApi api;
    BridgeApiClient client(io_, settings(api.url()));
    auto o = run(client, [](auto& c, auto done) {
        c.notify("1002", "", "cid@127.0.0.2", std::string("\xe9\xff", 2), "talk", done);
    });
    EXPECT_TRUE(o.ok) << o.error;
    auto reqs = api.requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].body["dn"], "1002");
    EXPECT_EQ(reqs[0].body["call_id"], "cid@127.0.0.2");
    const std::string uuid = reqs[0].body["call_uuid"];
    EXPECT_NE(uuid.find("\xef\xbf\xbd"), std::string::npos);
}

}  // namespace
}  // namespace talkgate::bridge
