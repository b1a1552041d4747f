// Takeover time of an active/standby pair (README, "Active and standby"), measured with the
// real executables on the real labs (bench/failover/run.sh starts them): per round the active
// talkgate of gateway A is SIGKILLed; from the lease's expiry (the kill plus the lease's PTTL
// read just before it) we time (1) the standby's ARI app registered (/ready: role active, ARI
// up; polled every 10 ms) and (2) the first new call answered: Genesys (sipp) calls again at
// once whenever a call is refused (503 while nobody holds the app), and the call counts once
// the standby's /calls shows it connected. The killed one is started again as the next round's
// standby. Not a test: prints figures, asserts nothing.
#include "failover_harness.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <thread>

using namespace talkgate::test;
using Clock = std::chrono::steady_clock;

namespace {

double ms(Clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
}

struct Round {
    double pttl_ms = 0, expiry_to_app_ms = -1, expiry_to_answered_ms = -1;
    int attempts = 0;
};

// Calls 1002 on gateway A until one is answered, from `start` on.
void call_until_answered(FailoverSetup& s, Controller& next, Clock::time_point start,
                         std::atomic<bool>& stop, Round& round, Clock::time_point expiry) {
    std::this_thread::sleep_until(start);
    for (int i = 0; i < 100 && !stop; ++i) {
        ++round.attempts;
        LabCall call(s.lab_a, s.agent(s.lab_a, "1002", "agent_answer_on_notify.xml"),
                     s.genesys(s.lab_a, "1002", "genesys_notify_talk.xml",
                               "UUID-BENCH-" + random_token(6), 500));
        bool refused = false;
        for (int p = 0; p < 1000; ++p) {
            auto c = next.call_of("1002");
            if (c.is_object() && c["state"] == "connected") {
                round.expiry_to_answered_ms = ms(Clock::now() - expiry);
                call.wait_success(20s, 10s);
                return;
            }
            if (call.genesys.wait(10ms)) {
                refused = true;  // sipp ended without the call reaching connected: 503
                break;
            }
        }
        call.agent.kill();
        if (!refused) return;
    }
}

}  // namespace

int main(int argc, char** argv) {
    const int rounds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
    const std::string ttl = argc > 2 ? argv[2] : "3000";
    FailoverSetup s(ttl);
    if (auto error = s.start_all(); !error.empty()) {
        std::cerr << error << '\n' << s.all_logs();
        return 1;
    }
    std::cout << "LEASE_TTL_MS=" << ttl << ", " << rounds << " rounds\n";
    std::cout << "round  lease PTTL at kill  expiry->app registered  expiry->first call answered"
                 "  call attempts\n";
    Controller* active = s.first.get();
    Controller* standby = s.second.get();
    std::vector<Round> done;
    for (int r = 0; r < rounds; ++r) {
        Round round;
        std::this_thread::sleep_for(std::chrono::milliseconds(300 + 437 * r % 1000));
        const std::string pttl = s.redis.cli("PTTL 'talkgate:lease:{talkgate@gw-a}'");
        round.pttl_ms = std::atof(pttl.c_str());
        const auto killed = Clock::now();
        active->kill();
        const auto expiry = killed + std::chrono::milliseconds(static_cast<long>(round.pttl_ms));
        std::atomic<bool> stop{false};
        std::thread caller([&] { call_until_answered(s, *standby, expiry, stop, round, expiry); });
        for (int p = 0; p < 3000; ++p) {
            if (standby->serving()) {
                round.expiry_to_app_ms = ms(Clock::now() - expiry);
                break;
            }
            std::this_thread::sleep_for(10ms);
        }
        caller.join();
        std::printf("%5d  %15.0f ms  %19.0f ms  %24.0f ms  %13d\n", r + 1, round.pttl_ms,
                    round.expiry_to_app_ms, round.expiry_to_answered_ms, round.attempts);
        std::fflush(stdout);
        done.push_back(round);
        active->start();  // back as standby
        if (!wait_until([&] { return active->role() == "standby"; }, 20s)) {
            std::cerr << "the restarted talkgate is not standby\n" << s.all_logs();
            return 1;
        }
        std::swap(active, standby);
    }
    auto summary = [&](const char* what, double Round::*field) {
        std::vector<double> v;
        for (const auto& r : done) v.push_back(r.*field);
        std::sort(v.begin(), v.end());
        std::printf("%s: min %.0f ms, median %.0f ms, max %.0f ms\n", what, v.front(),
                    v[v.size() / 2], v.back());
    };
    summary("lease expiry -> ARI app registered", &Round::expiry_to_app_ms);
    summary("lease expiry -> first call answered", &Round::expiry_to_answered_ms);
    return 0;
}
