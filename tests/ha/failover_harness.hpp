#pragma once
// Active/standby against real servers: a redis-server on loopback (generated password), the
// stock lab (gateway A, NOTIFYs over HEP) with two talkgate processes on it, and the module
// lab (gateway B) with a third. Used by failover_lab_test and by bench/failover.
#include "fake_bridge_api.hpp"
#include "http_get.hpp"
#include "lab_env.hpp"
#include "metrics_exposition_parser.hpp"
#include "polling.hpp"
#include "redis_server.hpp"
#include "sipp.hpp"
#include "talkgate_process.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace talkgate::test {

using namespace std::chrono_literals;
using nlohmann::json;

// One talkgate process of the setup, restartable.
class Controller {
  public:
    Controller(std::string name, std::string dir, Settings settings, int status_port,
               std::string token)
        : name_(std::move(name)),
          dir_(std::move(dir)),
          settings_(std::move(settings)),
          port_(status_port),
          token_(std::move(token)) {}

    void start() {
        if (process_) logs_ += process_->log();
        const std::string run = dir_ + "/" + name_ + "-" + std::to_string(++runs_);
        run_command("mkdir -p '" + run + "'", 10s);
        process_ = std::make_unique<TalkgateProcess>(run, settings_);
    }
    void kill() {
        if (process_) process_->kill();
    }
    std::string stop() { return process_ ? process_->stop() : "not started"; }
    bool running() { return process_ && process_->running(); }

    HttpReply get(const std::string& target) const {
        return http_get("http://127.0.0.1:" + std::to_string(port_), target, "Bearer " + token_,
                        std::chrono::seconds(3));
    }
    json ready() const { return get("/ready").body; }
    std::string role() const {
        auto r = ready();
        return r.is_object() && r.contains("role") ? r["role"].get<std::string>() : "";
    }
    // Active with ARI connected: the Stasis app is registered.
    bool serving() const {
        auto r = ready();
        return r.is_object() && r.value("role", "") == "active" && r["ari"].value("up", false);
    }
    json call_of(const std::string& dn) const {
        auto r = get("/calls/" + dn);
        if (r.status != 200 || !r.body.is_object() || r.body["calls"].size() != 1) return nullptr;
        return r.body["calls"][0];
    }
    json wait_call(const std::string& dn, const std::string& state,
                   std::chrono::milliseconds deadline = 10s) const {
        json call;
        wait_until(
            [&] {
                call = call_of(dn);
                return call.is_object() && call["state"] == state;
            },
            deadline);
        return call;
    }
    double metric(const std::string& name, const std::map<std::string, std::string>& labels = {}) {
        auto r = get("/metrics");
        if (r.status != 200) return -1;
        return parse_prometheus_text(r.text).value(name, labels).value_or(0);
    }
    std::string log() const { return logs_ + (process_ ? process_->log() : ""); }
    const Settings& settings() const { return settings_; }
    const std::string& name() const { return name_; }

  private:
    std::string name_;
    std::string dir_;
    Settings settings_;
    int port_;
    std::string token_;
    std::unique_ptr<TalkgateProcess> process_;
    std::string logs_;
    int runs_ = 0;
};

class FailoverSetup {
  public:
    // Longer than Genesys's first NOTIFY comes after the 180 (3 s in the scenario): that one
    // meets no talkgate, and a retransmission must answer the call.
    static constexpr const char* kLeaseTtlMs = "4000";

    explicit FailoverSetup(const std::string& lease_ttl_ms = kLeaseTtlMs)
        : lab_a(LabEnv::get()),
          lab_b(LabEnv::module_lab()),
          redis(lab_a.port("LAB_PORT_BASE") + 20),
          dir_(make_temp_dir("talkgate-failover-")),
          token_(random_token(32)) {
        const int base = lab_a.port("LAB_PORT_BASE");
        auto a = lab_talkgate_settings(lab_a, base + 21, token_, bridge.url());
        add_lab_hep(a, lab_a);
        a["NOTIFY_SOURCES"] = "hep,ami";
        a["REDIS_URL"] = redis.url();
        a["GATEWAY_ID"] = "gw-a";
        a["LEASE_TTL_MS"] = lease_ttl_ms;
        first = std::make_unique<Controller>("a1", dir_, a, base + 21, token_);
        a["STATUS_LISTEN"] = "127.0.0.1:" + std::to_string(base + 22);
        second = std::make_unique<Controller>("a2", dir_, a, base + 22, token_);
        auto b = lab_talkgate_settings(lab_b, base + 23, token_, bridge.url());
        b["NOTIFY_SOURCES"] = "ami,ari";
        b["REDIS_URL"] = redis.url();
        b["GATEWAY_ID"] = "gw-b";
        b["LEASE_TTL_MS"] = lease_ttl_ms;
        other = std::make_unique<Controller>("b1", dir_, b, base + 23, token_);
    }

    ~FailoverSetup() {
        for (auto* c : {first.get(), second.get(), other.get()}) c->stop();
        run_command("rm -rf '" + dir_ + "'", 10s);
    }

    // Redis, then the first controller of each gateway (each waits one ttl for the lease,
    // then becomes active), then the standby of gateway A. False with what is wrong.
    std::string start_all() {
        lab_a.reset();
        lab_b.reset();
        if (!redis.start()) return "redis-server did not start: " + redis.log();
        first->start();
        other->start();
        if (!wait_until([&] { return first->serving() && other->serving(); }, 20s))
            return "the first controllers did not become active";
        second->start();
        if (!wait_until([&] { return second->role() == "standby"; }, 20s))
            return "the second controller is not standby";
        return "";
    }

    // Who holds gateway A's lease now ("holder fence"), read from Redis itself.
    std::string lease_a() const { return redis.cli("GET 'talkgate:lease:{talkgate@gw-a}'"); }

    Sipp::Options agent(const LabEnv& lab, const std::string& dn, const std::string& scenario) {
        return Sipp::agent(lab, dn, scenario, 60s);
    }
    Sipp::Options genesys(const LabEnv& lab, const std::string& dn, const std::string& scenario,
                          const std::string& uuid, int call_ms) {
        return Sipp::genesys(lab, dn, scenario, uuid, call_ms, 60s);
    }

    std::string all_logs() const {
        return "--- a1\n" + first->log() + "--- a2\n" + second->log() + "--- b1\n" + other->log() +
               "--- redis\n" + redis.log();
    }

    const LabEnv& lab_a;
    const LabEnv& lab_b;
    FakeBridgeApi bridge;
    RedisServer redis;
    std::unique_ptr<Controller> first;   // gateway A, active first
    std::unique_ptr<Controller> second;  // gateway A, standby first
    std::unique_ptr<Controller> other;   // gateway B

  private:
    std::string dir_;
    std::string token_;
};

}  // namespace talkgate::test
