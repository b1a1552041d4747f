// The CommandExecutor without Asterisk: ARI failures come back to the flow as CommandFailed,
// timers as TimerFired, a PJSIPNotify AMI could not take waits for AMI, and the bridge API is
// called on a loopback fake.
#include "controller/command_executor.hpp"

#include "ami/client.hpp"
#include "fake_bridge_api.hpp"
#include "metrics/talkgate_metrics.hpp"
#include "polling.hpp"

#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <map>

namespace talkgate::controller {
namespace {

using namespace std::chrono_literals;

class CommandExecutorTest : public ::testing::Test {
  protected:
    CommandExecutorTest() {
        const auto closed = std::to_string(test::free_loopback_port());
        ari::ClientConfig ac;
        ac.base_url = "http://127.0.0.1:" + closed;  // nothing listens: every request fails
        ac.user = "executor-test";
        ac.password = "executor-test-password";
        ac.app = "app";
        ac.request_timeout = 2s;
        config.bridge_api_url = bridge.url();
        config.bridge_api_timeout = 2000ms;
        ami::Settings as;
        as.host = "127.0.0.1";
        as.port = static_cast<unsigned short>(std::stoi(closed));
        as.username = "executor-test";
        as.secret = "executor-test-secret";
        bridge::BridgeApiClient::Settings bs;
        bs.url_template = config.bridge_api_url;
        bs.timeout = config.bridge_api_timeout;
        CommandExecutor::Peers peers{
            std::make_shared<ari::RestClient>(
                ac, [this](std::function<void()> f) { boost::asio::post(io, f); }),
            std::make_shared<ami::Client>(io, as),
            std::make_shared<bridge::BridgeApiClient>(io, bs)};
        executor = std::make_shared<CommandExecutor>(
            io, config, metrics, peers, std::make_shared<ari::HandlerGuard>("executor-test"),
            [this](const std::string& key) -> const flow::Call* {
                return key == call.key ? &call : nullptr;
            },
            [this](const flow::Event& e) { events.push_back(e); });
        call.key = "g1";
        call.agent_channel_name = "PJSIP/1002-1";
        call.state = flow::CallState::answer_requested;
    }

    template <class F>
    bool run_until(F done) {
        return test::run_io_until(io, done, 1000);
    }

    template <class T>
    std::vector<T> all() const {
        std::vector<T> out;
        for (const auto& e : events)
            if (auto p = std::get_if<T>(&e)) out.push_back(*p);
        return out;
    }

    std::uint64_t pjsip_notify_errors() {
        return metrics.answer_actions.labels({"pjsip_notify", "error"}).value();
    }

    test::FakeBridgeApi bridge;
    boost::asio::io_context io;
    // Keeps run_for() waiting for completions that other threads post.
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{
        io.get_executor()};
    Config config;
    metrics::TalkgateMetrics metrics;
    flow::Call call;
    std::vector<flow::Event> events;
    std::shared_ptr<CommandExecutor> executor;
};

TEST_F(CommandExecutorTest, AriFailuresReachTheFlowWithTheCommandThatFailed) {
    executor->run(
        {flow::CreateAgentLeg{"g1", "g1-agent", "PJSIP/1002", "talkgate-agent,g1", "g1", {}},
         flow::DialAgent{"g1", "g1-agent", "g1", 20},
         flow::AnswerAndBridge{"g1", "g1", "g1-agent", "g1-bridge"},
         flow::HangupChannel{"g1", "g1-agent", 16}});
    ASSERT_TRUE(run_until([&] { return all<flow::CommandFailed>().size() == 3; }))
        << all<flow::CommandFailed>().size() << " failures came back";
    std::vector<flow::CommandKind> kinds;
    for (const auto& f : all<flow::CommandFailed>()) {
        EXPECT_EQ(f.call_key, "g1");
        EXPECT_FALSE(f.error.empty());
        kinds.push_back(f.kind);
    }
    std::sort(kinds.begin(), kinds.end());
    EXPECT_EQ(kinds, (std::vector<flow::CommandKind>{flow::CommandKind::create_agent,
                                                     flow::CommandKind::dial_agent,
                                                     flow::CommandKind::answer_and_bridge}))
        << "a failed hangup is only logged";
    EXPECT_TRUE(all<flow::BridgeEstablished>().empty());
}

TEST_F(CommandExecutorTest, TimersFireIntoTheFlowUntilStopped) {
    executor->run({flow::StartTimer{"g1", flow::TimerKind::agent_no_answer, 7, 10ms}});
    ASSERT_TRUE(run_until([&] { return !all<flow::TimerFired>().empty(); }));
    EXPECT_EQ(all<flow::TimerFired>()[0].id, 7u);
    EXPECT_EQ(all<flow::TimerFired>()[0].call_key, "g1");

    executor->run({flow::StartTimer{"g1", flow::TimerKind::agent_no_answer, 8, 50ms}});
    executor->stop();
    test::run_io_for(io, 10);  // well past the timer's 50 ms
    EXPECT_EQ(all<flow::TimerFired>().size(), 1u);
}

TEST_F(CommandExecutorTest, PjsipNotifyWaitsForAmiAndGoesOnlyIfTheCallStillWantsIt) {
    const flow::SendAgentNotify talk{"g1", "1002", "cid-1", "U1", "PJSIP/1002-1", "talk"};
    executor->run({talk});
    EXPECT_EQ(executor->kept_notifies(), 1u);
    EXPECT_EQ(pjsip_notify_errors(), 1u);

    // The call moved on while AMI was away: nothing is sent.
    call.state = flow::CallState::connected;
    executor->ami_up(true);
    EXPECT_EQ(executor->kept_notifies(), 0u);
    EXPECT_EQ(pjsip_notify_errors(), 1u);

    // Still waiting: sent again (to this AMI client, which is not connected: kept again).
    executor->ami_up(false);
    call.state = flow::CallState::answer_requested;
    executor->run({talk});
    EXPECT_EQ(pjsip_notify_errors(), 2u);
    executor->ami_up(true);
    ASSERT_TRUE(run_until([&] { return pjsip_notify_errors() == 3u; }));
    EXPECT_EQ(executor->kept_notifies(), 1u);

    executor->call_ended("g1");
    EXPECT_EQ(executor->kept_notifies(), 0u);
}

TEST_F(CommandExecutorTest, BridgeApiAnswerAndNotifyReachTheAgentsDesktop) {
    executor->run({flow::BridgeApiAnswer{"g1", "1002", "cid-1", "U1"},
                   flow::BridgeApiNotify{"g1", "1002", "cid-1", "U1", "talk"}});
    auto ok = [&](const char* path) { return metrics.answer_actions.labels({path, "ok"}).value(); };
    ASSERT_TRUE(run_until([&] { return ok("bridge_answer") == 1 && ok("bridge_notify") == 1; }));
    EXPECT_TRUE(bridge.wait_for("/answer/1002", 1, 1s));
    auto requests = bridge.requests();
    ASSERT_EQ(requests.size(), 2u);
    for (const auto& r : requests) {
        if (r.path != "/genesys-call-notify") continue;
        EXPECT_EQ(r.body.value("call_id", ""), "cid-1");
        EXPECT_EQ(r.body.value("event", ""), "talk");
    }
}

TEST_F(CommandExecutorTest, EachAnswerActionIsTracedOnItsCallWithOutcomeAndLatency) {
    std::vector<std::pair<std::string, flow::TraceStep>> traced;
    executor->on_trace(
        [&](const std::string& key, flow::TraceStep step) { traced.emplace_back(key, step); });
    executor->ami_up(false);
    executor->run({flow::SendAgentNotify{"g1", "1002", "cid-1", "U1", "PJSIP/1002-1", "talk"},
                   flow::BridgeApiAnswer{"g1", "1002", "cid-1", "U1"},
                   flow::BridgeApiNotify{"g1", "1002", "cid-1", "U1", "talk"}});
    ASSERT_TRUE(run_until([&] { return traced.size() == 3; }));
    std::map<std::string, flow::TraceStep> by_path;
    for (const auto& [key, step] : traced) {
        EXPECT_EQ(key, "g1");
        EXPECT_EQ(step.kind, flow::TraceKind::answer_action);
        EXPECT_EQ(step.event, "talk");
        by_path[step.source] = step;
    }
    EXPECT_EQ(by_path["pjsip_notify"].outcome, "error");  // AMI is down: not sent
    EXPECT_EQ(by_path["bridge_answer"].outcome, "ok");
    ASSERT_TRUE(by_path["bridge_answer"].latency);
    EXPECT_GT(by_path["bridge_answer"].latency->count(), 0);
    EXPECT_EQ(by_path["bridge_notify"].outcome, "ok");
}

}  // namespace
}  // namespace talkgate::controller
