#include "logging/logging.hpp"
#include "metrics/talkgate_metrics.hpp"
#include "status/status_server.hpp"
#include "status_test_support.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <memory>
#include <sstream>

using talkgate::test::http_request;

namespace {

// Routes every log line of the process into a string for the test's duration.
class CapturedLog {
  public:
    CapturedLog() : previous_(spdlog::default_logger()) {
        auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
        spdlog::set_default_logger(std::make_shared<spdlog::logger>("captured", sink));
    }
    ~CapturedLog() { spdlog::set_default_logger(previous_); }
    std::string text() {
        spdlog::default_logger()->flush();
        return out_.str();
    }

  private:
    std::shared_ptr<spdlog::logger> previous_;
    std::ostringstream out_;
};

}  // namespace

namespace {

// text is `shape` with each '#' a decimal digit.
bool has_shape(const std::string& text, const std::string& shape) {
    if (text.size() != shape.size()) return false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const bool ok = shape[i] == '#' ? std::isdigit(static_cast<unsigned char>(text[i])) != 0
                                        : text[i] == shape[i];
        if (!ok) return false;
    }
    return true;
}

}  // namespace

TEST(Logging, ParsesLogLevelLikeTheExistingDeployment) {
    using spdlog::level::level_enum;
    EXPECT_EQ(talkgate::logging::parse_level("DEBUG"), level_enum::debug);
    EXPECT_EQ(talkgate::logging::parse_level("info"), level_enum::info);
    EXPECT_EQ(talkgate::logging::parse_level("Warning"), level_enum::warn);
    EXPECT_EQ(talkgate::logging::parse_level("warn"), level_enum::warn);
    EXPECT_EQ(talkgate::logging::parse_level("off"), level_enum::off);
    EXPECT_FALSE(talkgate::logging::parse_level("verbose"));
}

TEST(Logging, WritesTheOperatorsLineFormatAndAppliesTheLevel) {
    CapturedLog log;
    std::string error;
    ASSERT_TRUE(talkgate::logging::configure("INFO", &error)) << error;
    spdlog::debug("hidden at info");
    spdlog::info("call step dn={}", 1002);
    spdlog::warn("careful");
    std::string text = log.text();
    EXPECT_EQ(text.find("hidden"), std::string::npos) << text;
    // '#' stands for a digit of the timestamp.
    EXPECT_TRUE(has_shape(text,
                          "####-##-## ##:##:##.### | info    | call step dn=1002\n"
                          "####-##-## ##:##:##.### | warning | careful\n"))
        << text;

    EXPECT_FALSE(talkgate::logging::configure("loud", &error));
    EXPECT_NE(error.find("LOG_LEVEL 'loud'"), std::string::npos) << error;
    EXPECT_EQ(spdlog::get_level(), spdlog::level::info);
    talkgate::logging::configure("");
    EXPECT_EQ(spdlog::get_level(), spdlog::level::info);
}

TEST(Logging, TheStatusTokenNeverAppearsInTheLog) {
    CapturedLog log;
    talkgate::logging::configure("trace");
    const std::string token = "S3cr3t-Status-T0ken-4d9f";
    const std::string wrong = "Wr0ng-Guess-Of-The-Token-77";

    talkgate::metrics::TalkgateMetrics metrics;
    talkgate::test::FakeSource source;
    source.set_calls({talkgate::test::make_call("a", "1002", "U", "Ringing")});
    source.set_answer("1002", talkgate::status::AnswerOutcome::requested);
    {
        talkgate::status::StatusServerOptions o;
        o.port = talkgate::test::free_loopback_port();
        o.token = token;
        talkgate::status::StatusServer server(o, source, metrics.registry);
        std::string error;
        ASSERT_TRUE(server.start(error)) << error;
        const std::string url = server.url();
        EXPECT_EQ(http_request(url, "GET", "/calls", token).status, 200);
        EXPECT_EQ(http_request(url, "GET", "/calls/1002", token).status, 200);
        EXPECT_EQ(http_request(url, "POST", "/calls/1002/answer", token).status, 202);
        EXPECT_EQ(http_request(url, "POST", "/calls/1002/answer", token, "{\"x\":1}").status, 400);
        EXPECT_EQ(http_request(url, "GET", "/metrics", token).status, 200);
        EXPECT_EQ(http_request(url, "GET", "/ready", wrong).status, 401);
        EXPECT_EQ(http_request(url, "GET", "/nope", token).status, 404);
        EXPECT_EQ(http_request(url, "GET", "/calls", {}, {}, "Token " + token).status, 401);
        server.stop();
    }
    std::string text = log.text();
    // The capture works: the server did log these requests.
    EXPECT_NE(text.find("status API listening on 127.0.0.1:"), std::string::npos) << text;
    EXPECT_NE(text.find("manual answer requested for DN 1002"), std::string::npos) << text;
    EXPECT_NE(text.find("invalid bearer token"), std::string::npos) << text;
    EXPECT_EQ(text.find(token), std::string::npos) << text;
    EXPECT_EQ(text.find(wrong), std::string::npos) << text;
    EXPECT_EQ(text.find("S3cr3t"), std::string::npos) << text;
}
