// BridgeApiClient against a loopback fake bridge API: shapes, retries, deadlines, a dead port.
#include "bridge/bridge_api_client.hpp"
#include "fake_bridge_api.hpp"

#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

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

TEST_F(BridgeApiClientTest, DisabledWhenNoUrl) {
    BridgeApiClient client(io_, settings(""));
    EXPECT_FALSE(client.enabled());
}

}  // namespace
}  // namespace talkgate::bridge
