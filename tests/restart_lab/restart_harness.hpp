#pragma once
// The real talkgate executable against the real Asterisk lab, killed (SIGKILL) or stopped
// (SIGTERM) in the middle of a call and started again: the call must go on under the new
// process. sipp plays Genesys (127.0.0.2) and the agents (127.0.0.3).
#include "fake_bridge_api.hpp"
#include "http_get.hpp"
#include "lab_ari.hpp"
#include "lab_env.hpp"
#include "metrics_exposition_parser.hpp"
#include "polling.hpp"
#include "sipp.hpp"
#include "talkgate_process.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace talkgate::test {

using namespace std::chrono_literals;
using nlohmann::json;

class RestartLabTest : public ::testing::Test {
  protected:
    RestartLabTest() : lab_(LabEnv::get()) {}

    // `hep`: NOTIFYs through HEP (stock Asterisk); else from the module's AMI/ARI user events.
    void configure(bool hep) {
        lab_.reset();
        token_ = random_token(32);
        dir_ = make_temp_dir("talkgate-restart-");
        settings_ = lab_talkgate_settings(lab_, status_port(), token_, bridge_.url());
        settings_["AGENT_RING_TIMEOUT_S"] = "30";
        if (hep) {
            add_lab_hep(settings_, lab_);
            settings_["NOTIFY_SOURCES"] = "hep,ami";
        } else {
            settings_["NOTIFY_SOURCES"] = "ami,ari";
        }
    }

    void TearDown() override {
        if (process_) logs_ += "--- last talkgate (" + process_->stop() + ")\n" + process_->log();
        EXPECT_EQ(secrets_in(logs_, settings_), std::vector<std::string>{}) << "in the log";
        if (HasFailure()) std::cerr << "talkgate logs:\n" << logs_ << '\n';
        process_.reset();
        run_command("rm -rf '" + dir_ + "'", 10s);
    }

    int status_port() const { return lab_.port("LAB_PORT_BASE") + 6; }

    // Starts a talkgate (a fresh one each time) and waits until /ready is 200.
    void start() {
        if (process_) logs_ += "--- talkgate " + std::to_string(runs_) + "\n" + process_->log();
        process_.reset();
        const std::string run_dir = dir_ + "/run" + std::to_string(++runs_);
        run_command("mkdir -p '" + run_dir + "'", 10s);
        process_ = std::make_unique<TalkgateProcess>(run_dir, settings_);
        bool ready = wait_until(
            [this] { return process_->running() && http("GET", "/ready").status == 200; }, 20s);
        ASSERT_TRUE(ready) << "talkgate not ready:\n" << process_->log();
    }

    void kill() { process_->kill(); }

    using Reply = HttpReply;

    static Reply get(const std::string& base, const std::string& target,
                     const std::string& authorization) {
        return http_get(base, target, authorization);
    }

    Reply http(const std::string& method, const std::string& target) {
        EXPECT_EQ(method, "GET");
        return get("http://127.0.0.1:" + std::to_string(status_port()), target, "Bearer " + token_);
    }

    // Asterisk's own view, through ARI.
    Reply ari(const std::string& target) const {
        return get(lab_["LAB_ARI_URL"], "/ari" + target,
                   basic_auth(lab_["LAB_ARI_USER"], lab_["LAB_ARI_PASSWORD"]));
    }

    std::string channel_var(const std::string& channel, const std::string& name) const {
        auto r = ari("/channels/" + channel + "/variable?variable=" + name);
        return r.status == 200 && r.body.is_object() ? r.body.value("value", "") : "";
    }

    // The one call on `dn` that /calls shows, or null.
    json call_of(const std::string& dn) {
        auto r = http("GET", "/calls/" + dn);
        if (r.status != 200 || !r.body.is_object() || r.body["calls"].size() != 1) return nullptr;
        return r.body["calls"][0];
    }

    json wait_call(const std::string& dn, const std::string& state,
                   std::chrono::milliseconds deadline = 10s) {
        json call;
        wait_until(
            [&] {
                call = call_of(dn);
                return call.is_object() && call["state"] == state;
            },
            deadline);
        return call;
    }

    // talkgate_resync_repairs_total{action}, -1 when /metrics did not answer.
    double repairs(const std::string& action) {
        auto r = http("GET", "/metrics");
        if (r.status != 200) return -1;
        auto parsed = parse_prometheus_text(r.text);
        return parsed.value("talkgate_resync_repairs_total", {{"action", action}}).value_or(0);
    }

    Sipp::Options agent(const std::string& dn, const std::string& scenario,
                        std::vector<std::string> extra = {}) {
        Sipp::Options o = Sipp::agent(lab_, dn, scenario, 60s);
        o.extra = std::move(extra);
        return o;
    }

    Sipp::Options genesys(const std::string& dn, const std::string& scenario,
                          const std::string& uuid, int call_ms) {
        return Sipp::genesys(lab_, dn, scenario, uuid, call_ms, 60s);
    }

    std::string all_logs() const { return logs_ + (process_ ? process_->log() : ""); }

    const LabEnv& lab_;
    FakeBridgeApi bridge_;
    std::string token_;
    std::string dir_;
    Settings settings_;
    std::unique_ptr<TalkgateProcess> process_;
    std::string logs_;  // of the talkgates that ran before the current one
    int runs_ = 0;
};

}  // namespace talkgate::test
