#pragma once
// A talkgate Controller running in-process against the real Asterisk lab, with a loopback fake
// bridge API, and helpers to start sipp as Genesys and as agents. Shared by the controller's
// lab tests.
#include "controller/controller.hpp"
#include "fake_bridge_api.hpp"
#include "lab_env.hpp"
#include "listed_calls.hpp"
#include "metrics/talkgate_metrics.hpp"
#include "polling.hpp"
#include "sipp.hpp"

#include <cpprest/http_client.h>
#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>

#include <future>
#include <thread>

namespace talkgate::test {

using namespace std::chrono_literals;

inline Sipp::Options agent(const std::string& dn, const std::string& scenario, int calls = 1,
                           std::chrono::seconds timeout = 25s) {
    Sipp::Options o = Sipp::agent(LabEnv::get(), dn, scenario, timeout);
    o.calls = calls;
    o.extra = {"-d", "1000"};
    return o;
}

inline Sipp::Options genesys(const std::string& dn, const std::string& scenario,
                             const std::string& uuid, int call_ms = 1500, int calls = 1) {
    Sipp::Options o = Sipp::genesys(LabEnv::get(), dn, scenario, uuid, call_ms, 25s);
    o.calls = calls;
    o.extra.insert(o.extra.end(), {"-l", std::to_string(calls)});
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
                return r.ari_up && r.ami_up && (!r.hep_required || r.hep_up);
            },
            10s))
            << "controller not connected to the lab within 10 s";
    }

    std::size_t tracked_calls() { return listed_calls(*controller_, 2s).value_or(9999); }

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

}  // namespace talkgate::test
