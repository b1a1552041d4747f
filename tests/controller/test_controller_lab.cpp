// The controller end to end against the real Asterisk lab: sipp plays Genesys (127.0.0.2) and
// the agents (127.0.0.3), a loopback fake plays the agent desktop's bridge API.
#include "controller/controller.hpp"
#include "fake_bridge_api.hpp"
#include "lab_env.hpp"
#include "metrics/talkgate_metrics.hpp"
#include "sipp.hpp"

#include <cpprest/http_client.h>
#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>

#include <future>
#include <thread>

namespace talkgate {
namespace {

using namespace std::chrono_literals;
using test::FakeBridgeApi;
using test::LabEnv;
using test::Sipp;

template <class F>
bool wait_until(F&& done, std::chrono::milliseconds deadline) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < until) {
        if (done()) return true;
        std::this_thread::sleep_for(20ms);
    }
    return done();
}

Sipp::Options agent(const std::string& dn, const std::string& scenario, int calls = 1,
                    std::chrono::seconds timeout = 25s) {
    const auto& lab = LabEnv::get();
    Sipp::Options o;
    o.scenario = scenario;
    o.local_ip = lab["LAB_AGENT_IP"];
    o.local_port = lab.port("LAB_AGENT_PORT_BASE") + (std::stoi(dn) - 1000);
    o.uac = false;
    o.calls = calls;
    o.timeout = timeout;
    o.extra = {"-d", "1000"};
    return o;
}

Sipp::Options genesys(const std::string& dn, const std::string& scenario, const std::string& uuid,
                      int call_ms = 1500, int calls = 1) {
    const auto& lab = LabEnv::get();
    Sipp::Options o;
    o.scenario = scenario;
    o.local_ip = lab["LAB_GENESYS_IP"];
    o.service = dn;
    o.calls = calls;
    o.timeout = 25s;
    o.extra = {"-set", "uuid", uuid, "-d", std::to_string(call_ms), "-l", std::to_string(calls)};
    return o;
}

class ControllerLabTest : public ::testing::Test {
  protected:
    ControllerLabTest() : work_(io_.get_executor()) {
        config_.ari_url = lab_["LAB_ARI_URL"];
        config_.ari_user = lab_["LAB_ARI_USER"];
        config_.ari_password = lab_["LAB_ARI_PASSWORD"];
        config_.ari_app = lab_["LAB_ARI_APP"];
        config_.asterisk_host = lab_["LAB_AMI_HOST"];
        config_.ami_port = static_cast<unsigned short>(lab_.port("LAB_AMI_PORT"));
        config_.ami_user = lab_["LAB_AMI_USER"];
        config_.ami_secret = lab_["LAB_AMI_SECRET"];
        config_.genesys_sip_hosts = {lab_["LAB_GENESYS_IP"]};
        config_.hep_listen = {"127.0.0.1", static_cast<unsigned short>(lab_.port("LAB_HEP_PORT"))};
        config_.bridge_api_url = bridge_.url();
        config_.bridge_api_timeout = 1000ms;
        config_.agent_ring_timeout = 10s;
    }

    ~ControllerLabTest() override {
        if (controller_) controller_->stop();
        work_.reset();
        io_.stop();
        if (thread_.joinable()) thread_.join();
        controller_.reset();
        try {
            lab_.reset();
        } catch (const std::exception& e) {
            ADD_FAILURE() << e.what();
        }
    }

    void start() {
        controller_ = std::make_unique<controller::Controller>(io_, config_, metrics_);
        std::string error;
        ASSERT_TRUE(controller_->start(error)) << error;
        thread_ = std::thread([this] { io_.run(); });
        ASSERT_TRUE(wait_until(
            [this] {
                auto r = controller_->readiness();
                return r.ari_up && r.ami_up && r.hep_up;
            },
            10s))
            << "controller not connected to the lab within 10 s";
    }

    std::size_t tracked_calls() {
        std::promise<std::size_t> p;
        auto f = p.get_future();
        controller_->calls([&p](std::vector<status::CallView> v) { p.set_value(v.size()); });
        return f.wait_for(2s) == std::future_status::ready ? f.get() : 9999;
    }

    std::size_t asterisk_channels() {
        auto out = lab_.cli("core show channels count");
        return std::stoul(out.substr(0, out.find(' ')));
    }

    // Both call legs and the registry are empty again.
    void expect_nothing_left() {
        EXPECT_TRUE(wait_until([this] { return tracked_calls() == 0; }, 5s))
            << tracked_calls() << " calls still tracked";
        EXPECT_TRUE(wait_until([this] { return asterisk_channels() == 0; }, 5s))
            << lab_.cli("core show channels");
    }

    // Largest number of channels in any bridge Asterisk has right now (ARI GET /bridges).
    std::size_t largest_bridge() {
        web::http::client::http_client_config hc;
        hc.set_timeout(2s);
        hc.set_credentials(web::credentials(lab_["LAB_ARI_USER"], lab_["LAB_ARI_PASSWORD"]));
        web::http::client::http_client c(lab_["LAB_ARI_URL"] + "/ari", hc);
        auto body = c.request(web::http::methods::GET, "/bridges").get().extract_json().get();
        std::size_t most = 0;
        for (const auto& b : body.as_array())
            most = std::max<std::size_t>(most, b.at("channels").as_array().size());
        return most;
    }

    std::uint64_t answers(metrics::AnswerPath path, metrics::ActionOutcome outcome) {
        return metrics_.answer_actions.labels({to_string(path), to_string(outcome)}).value();
    }

    std::size_t bridge_requests(const std::string& prefix) {
        std::size_t n = 0;
        for (const auto& r : bridge_.requests()) n += r.path.rfind(prefix, 0) == 0 ? 1 : 0;
        return n;
    }

    const LabEnv& lab_ = LabEnv::get();
    FakeBridgeApi bridge_;
    Config config_;
    metrics::TalkgateMetrics metrics_;
    boost::asio::io_context io_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
    std::thread thread_;
    std::unique_ptr<controller::Controller> controller_;
};

TEST_F(ControllerLabTest, NotifyTalkAnswersTheAgentBridgesBothLegsAndByeTearsDown) {
    start();
    Sipp a(lab_, agent("1002", "agent_answer_on_notify.xml"));
    Sipp g(lab_, genesys("1002", "genesys_notify_talk.xml", "UUID-ANSWER-1", 3000));

    ASSERT_TRUE(bridge_.wait_for("/genesys-call-notify", 1, 10s)) << g.output() << a.output();
    ASSERT_TRUE(bridge_.wait_for("/answer/1002", 1, 5s));
    for (const auto& r : bridge_.requests()) {
        EXPECT_EQ(r.method, "POST");
        if (r.path == "/genesys-call-notify") {
            EXPECT_EQ(r.body["dn"], "1002");
            EXPECT_EQ(r.body["call_uuid"], "UUID-ANSWER-1");
            EXPECT_EQ(r.body["event"], "talk");
            EXPECT_FALSE(r.body["call_id"].get<std::string>().empty());
        }
    }
    EXPECT_TRUE(wait_until([this] { return largest_bridge() == 2; }, 5s))
        << "both legs were never in one bridge";
    EXPECT_EQ(g.wait_success(15s), "");  // Genesys got 200 OK and its BYE was answered
    EXPECT_EQ(a.wait_success(10s), "");  // the agent got NOTIFY talk, answered, got the BYE
    EXPECT_EQ(answers(metrics::AnswerPath::pjsip_notify, metrics::ActionOutcome::ok), 1u);
    EXPECT_EQ(answers(metrics::AnswerPath::bridge_answer, metrics::ActionOutcome::ok), 1u);
    EXPECT_EQ(metrics_.notify_to_genesys_answered_seconds.labels({}).count(), 1u);
    expect_nothing_left();
}

TEST_F(ControllerLabTest, RetransmittedNotifyAnswersOnce) {
    start();
    Sipp a(lab_, agent("1002", "agent_answer_on_notify.xml"));  // a second NOTIFY fails it
    Sipp g(lab_, genesys("1002", "genesys_notify_talk_x5.xml", "UUID-X5", 500));
    EXPECT_EQ(g.wait_success(15s), "");
    EXPECT_EQ(a.wait_success(10s), "");
    EXPECT_EQ(answers(metrics::AnswerPath::pjsip_notify, metrics::ActionOutcome::ok), 1u);
    EXPECT_EQ(bridge_requests("/answer/"), 1u);
    EXPECT_EQ(metrics_.notify_received.labels({"talk", "hep"}).value(), 1u);
    expect_nothing_left();
}

TEST_F(ControllerLabTest, AgentBusyGivesGenesys486) {
    start();
    Sipp a(lab_, agent("1003", "agent_busy.xml"));
    Sipp g(lab_, genesys("1003", "genesys_expect_486.xml", "UUID-BUSY"));
    EXPECT_EQ(g.wait_success(15s), "");
    EXPECT_EQ(a.wait_success(10s), "");
    EXPECT_EQ(metrics_.calls.labels({"busy"}).value(), 1u);
    expect_nothing_left();
}

TEST_F(ControllerLabTest, AgentNeverAnsweringGivesGenesys408) {
    config_.agent_ring_timeout = 3s;
    start();
    Sipp a(lab_, agent("1004", "agent_ring_no_answer.xml"));
    Sipp g(lab_, genesys("1004", "genesys_expect_408.xml", "UUID-NOANSWER"));
    EXPECT_EQ(g.wait_success(15s), "");
    EXPECT_EQ(a.wait_success(10s), "");
    EXPECT_EQ(metrics_.calls.labels({"no_answer"}).value(), 1u);
    expect_nothing_left();
}

TEST_F(ControllerLabTest, UnregisteredAgentGivesGenesys480) {
    start();  // agent 1009 has no registered contact: its WebRTC client is not there
    Sipp g(lab_, genesys("1009", "genesys_expect_480.xml", "UUID-UNREGISTERED"));
    EXPECT_EQ(g.wait_success(10s), "");
    EXPECT_EQ(metrics_.calls.labels({"unavailable"}).value(), 1u);
    expect_nothing_left();
}

TEST_F(ControllerLabTest, UnknownDnGivesGenesys480) {
    start();  // no endpoint 4321 at all: creating the agent leg fails
    Sipp g(lab_, genesys("4321", "genesys_expect_480.xml", "UUID-NODN"));
    EXPECT_EQ(g.wait_success(10s), "");
    expect_nothing_left();
}

TEST_F(ControllerLabTest, AgentHangupHangsUpGenesys) {
    start();
    Sipp a(lab_, agent("1005", "agent_answer_then_bye.xml"));
    Sipp g(lab_, genesys("1005", "genesys_notify_talk_remote_bye.xml", "UUID-AGENTBYE"));
    EXPECT_EQ(a.wait_success(15s), "");
    EXPECT_EQ(g.wait_success(10s), "");
    EXPECT_EQ(metrics_.calls.labels({"agent_hangup"}).value(), 1u);
    expect_nothing_left();
}

TEST_F(ControllerLabTest, BridgeApiDownStillAnswersThroughPjsipNotifyAndCountsTheFailure) {
    config_.bridge_api_url = "http://127.0.0.1:" + std::to_string(test::free_loopback_port());
    start();
    Sipp a(lab_, agent("1002", "agent_answer_on_notify.xml"));
    Sipp g(lab_, genesys("1002", "genesys_notify_talk.xml", "UUID-NOBRIDGE", 1000));
    EXPECT_EQ(g.wait_success(15s), "");
    EXPECT_EQ(a.wait_success(10s), "");
    EXPECT_EQ(answers(metrics::AnswerPath::pjsip_notify, metrics::ActionOutcome::ok), 1u);
    EXPECT_TRUE(wait_until(
        [this] {
            return answers(metrics::AnswerPath::bridge_answer, metrics::ActionOutcome::error) ==
                       1 &&
                   answers(metrics::AnswerPath::bridge_notify, metrics::ActionOutcome::error) == 1;
        },
        5s));
    expect_nothing_left();
}

TEST_F(ControllerLabTest, NotifyForUnknownCallIsCountedAndIgnored) {
    start();
    Sipp g(lab_, genesys("1002", "genesys_stray_notify.xml", "UUID-STRAY"));
    EXPECT_TRUE(
        wait_until([this] { return metrics_.notify_unmatched.labels({"talk"}).value() == 1; }, 5s));
    g.wait(5s);
    EXPECT_EQ(bridge_.requests().size(), 0u);
    auto r = controller_->readiness();
    EXPECT_TRUE(r.ari_up && r.ami_up && r.hep_up);  // still serving
}

TEST_F(ControllerLabTest, ImmediatePolicyAnswersWithoutAnyNotify) {
    config_.answer_policy_per_dn["1006"] = AnswerPolicy::immediate;
    start();
    Sipp a(lab_, agent("1006", "agent_auto_answer_call_info.xml"));
    Sipp g(lab_, genesys("1006", "genesys_plain.xml", "UUID-IMMEDIATE", 1000));
    EXPECT_EQ(g.wait_success(15s), "");
    EXPECT_EQ(a.wait_success(10s), "");
    EXPECT_EQ(bridge_requests("/answer/1006"), 1u);
    EXPECT_EQ(answers(metrics::AnswerPath::pjsip_notify, metrics::ActionOutcome::ok), 0u);
    expect_nothing_left();
}

TEST_F(ControllerLabTest, OffPolicyNeverAnswersEvenOnNotifyTalk) {
    config_.answer_policy = AnswerPolicy::off;
    config_.agent_ring_timeout = 3s;
    start();
    Sipp a(lab_, agent("1002", "agent_ring_no_answer.xml"));  // fails on any NOTIFY
    Sipp g(lab_, genesys("1002", "genesys_notify_talk_expect_408.xml", "UUID-OFF"));
    EXPECT_EQ(g.wait_success(15s), "");
    EXPECT_EQ(a.wait_success(10s), "");
    EXPECT_EQ(bridge_requests("/answer/"), 0u);
    expect_nothing_left();
}

TEST_F(ControllerLabTest, ThreeDnsAtOnceAndTwoCallsToOneDn) {
    start();
    std::vector<std::unique_ptr<Sipp>> agents, callers;
    for (const char* dn : {"1002", "1003", "1004"})
        agents.push_back(std::make_unique<Sipp>(lab_, agent(dn, "agent_answer_on_notify.xml")));
    agents.push_back(std::make_unique<Sipp>(lab_, agent("1005", "agent_answer_on_notify.xml", 2)));
    for (const char* dn : {"1002", "1003", "1004"})
        callers.push_back(std::make_unique<Sipp>(
            lab_, genesys(dn, "genesys_notify_talk.xml", std::string("UUID-MULTI-") + dn, 2000)));
    callers.push_back(std::make_unique<Sipp>(
        lab_, genesys("1005", "genesys_notify_talk.xml", "UUID-MULTI-1005", 2000, 2)));
    EXPECT_TRUE(wait_until([this] { return tracked_calls() == 5; }, 10s))
        << "expected 5 calls tracked at once, saw " << tracked_calls();
    for (auto& c : callers) EXPECT_EQ(c->wait_success(20s), "");
    for (auto& a : agents) EXPECT_EQ(a->wait_success(10s), "");
    EXPECT_EQ(answers(metrics::AnswerPath::pjsip_notify, metrics::ActionOutcome::ok), 5u);
    EXPECT_EQ(bridge_requests("/answer/1005"), 2u);
    expect_nothing_left();
}

}  // namespace
}  // namespace talkgate
