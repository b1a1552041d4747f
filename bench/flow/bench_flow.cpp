// The call flow on its own: CallFlow::handle with no I/O, as the controller's executor runs it.
// BM_CallLadder: one whole call (the seven events of the SIP ladder) per iteration while N calls
// are live; BM_NotifyTalk: the NOTIFY talk step alone (match by Call-ID, commands out).
// spdlog is off unless the `log` argument is 1: then info goes to a null sink, to show its cost.
// `trace` 0 runs with CALL_TRACE_STEPS=0 (no per-call trace), 1 with the default, to show its cost.
#include "flow/call_flow.hpp"

#include <benchmark/benchmark.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <vector>

namespace {

using namespace talkgate;
using namespace talkgate::flow;

// Switches the default logger for one benchmark run and puts the previous one back after.
class LogScope {
  public:
    explicit LogScope(bool info_to_null) : previous_(spdlog::default_logger()) {
        if (info_to_null) {
            auto logger = std::make_shared<spdlog::logger>(
                "bench-null", std::make_shared<spdlog::sinks::null_sink_mt>());
            logger->set_level(spdlog::level::info);
            spdlog::set_default_logger(logger);
        } else {
            spdlog::set_level(spdlog::level::off);
        }
    }
    ~LogScope() {
        spdlog::set_default_logger(previous_);
        spdlog::set_level(spdlog::level::off);
    }
    LogScope(const LogScope&) = delete;
    LogScope& operator=(const LogScope&) = delete;

  private:
    std::shared_ptr<spdlog::logger> previous_;
};

// A Genesys-style Call-ID (about 40 characters, as SIP Server's are).
std::string call_id(std::size_t i) {
    return "0" + std::to_string(100000000 + i) + "-7E53A1D2B4C4-" + std::to_string(i) +
           "@10.20.30.40";
}

// Ids as the controller makes them (unique per process), without a global counter.
// The events of one call; the agent leg's id is the one CreateAgentLeg chose.
struct Ladder {
    Event entered, agent_entered, ringing, notify, answered, bridged, gone;

    Ladder(const std::string& key, const std::string& dn, const std::string& cid) {
        entered = GenesysLegEntered{key, "PJSIP/genesys-" + key, dn, cid, "UUID-" + key};
        agent_entered = AgentLegEntered{"", "PJSIP/" + dn + "-0000000b", key};
        ringing = ChannelRinging{""};
        NotifyReceived n;
        n.kind = NotifyKind::talk;
        n.event_name = "talk";
        n.call_id = cid;
        n.dn = dn;
        n.call_uuid = "UUID-" + key;
        n.cseq = 2;
        n.source = "hep";
        notify = n;
        answered = ChannelAnswered{""};
        bridged = BridgeEstablished{key};
        gone = ChannelGone{key, 16};
    }

    void set_agent(const std::string& agent) {
        std::get<AgentLegEntered>(agent_entered).channel_id = agent;
        std::get<ChannelRinging>(ringing).channel_id = agent;
        std::get<ChannelAnswered>(answered).channel_id = agent;
    }
};

std::string agent_of(const Commands& out) {
    for (const auto& c : out)
        if (const auto* create = std::get_if<CreateAgentLeg>(&c)) return create->agent_channel_id;
    return {};
}

// Brings `live` calls to `connected`, each on its own DN, as a busy contact centre has them.
void fill(CallFlow& flow, std::size_t live, TimePoint& now) {
    for (std::size_t i = 0; i < live; ++i) {
        Ladder l("bg-" + std::to_string(i), std::to_string(20000 + i), call_id(i));
        l.set_agent(agent_of(flow.handle(l.entered, now)));
        for (const Event* e : {&l.agent_entered, &l.ringing, &l.notify, &l.answered, &l.bridged})
            flow.handle(*e, now += std::chrono::microseconds(10));
    }
}

// CALL_TRACE_STEPS as the `trace` argument says: 0 none, 1 the default.
Config config_for(const benchmark::State& state) {
    Config config;
    if (state.range(2) == 0) config.call_trace_steps = 0;
    return config;
}

// Arguments: live calls N (the measured one included), log (0: off, 1: info to a null sink),
// trace (0: off, 1: CALL_TRACE_STEPS default).
void BM_CallLadder(benchmark::State& state) {
    LogScope logs(state.range(1) == 1);
    const Config config = config_for(state);
    FlowObserver observer;
    CallFlow flow(config, observer);
    TimePoint now{};
    fill(flow, static_cast<std::size_t>(state.range(0)) - 1, now);
    Ladder l("measured", "1002", call_id(999999));
    std::size_t commands = 0;
    for (auto _ : state) {
        auto out = flow.handle(l.entered, now);
        commands += out.size();
        l.set_agent(agent_of(out));
        for (const Event* e :
             {&l.agent_entered, &l.ringing, &l.notify, &l.answered, &l.bridged, &l.gone}) {
            now += std::chrono::microseconds(10);
            out = flow.handle(*e, now);
            commands += out.size();
        }
        benchmark::DoNotOptimize(out);
    }
    if (flow.registry().size() != static_cast<std::size_t>(state.range(0)) - 1)
        state.SkipWithError("the measured call did not end");
    state.SetItemsProcessed(state.iterations());  // calls
    state.counters["commands_per_call"] =
        benchmark::Counter(static_cast<double>(commands), benchmark::Counter::kAvgIterations);
}

// NOTIFY talk for a ringing call among N live ones. Ringing calls are prepared in batches
// outside the timed region (a NOTIFY moves its call on, so each is used once).
void BM_NotifyTalk(benchmark::State& state) {
    LogScope logs(state.range(1) == 1);
    constexpr std::size_t kBatch = 256;
    const Config config = config_for(state);
    FlowObserver observer;
    CallFlow flow(config, observer);
    TimePoint now{};
    const auto live = static_cast<std::size_t>(state.range(0));
    fill(flow, live > kBatch ? live - kBatch : 0, now);
    std::vector<Ladder> batch;
    for (std::size_t i = 0; i < kBatch; ++i)
        batch.emplace_back("m-" + std::to_string(i), std::to_string(30000 + i),
                           call_id(500000 + i));
    std::size_t commands = 0;
    for (auto _ : state) {
        state.PauseTiming();
        for (auto& l : batch) {
            l.set_agent(agent_of(flow.handle(l.entered, now)));
            flow.handle(l.agent_entered, now);
            flow.handle(l.ringing, now);
        }
        state.ResumeTiming();
        for (auto& l : batch) {
            auto out = flow.handle(l.notify, now += std::chrono::microseconds(1));
            commands += out.size();
            benchmark::DoNotOptimize(out);
        }
        state.PauseTiming();
        for (auto& l : batch) flow.handle(l.gone, now);
        state.ResumeTiming();
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kBatch));  // NOTIFYs
    state.counters["commands_per_notify"] = benchmark::Counter(
        static_cast<double>(commands) / kBatch, benchmark::Counter::kAvgIterations);
}

}  // namespace

BENCHMARK(BM_CallLadder)
    ->ArgNames({"live", "log", "trace"})
    ->Args({1, 0, 1})
    ->Args({100, 0, 1})
    ->Args({1000, 0, 0})
    ->Args({1000, 0, 1})
    ->Args({1000, 1, 1});
BENCHMARK(BM_NotifyTalk)
    ->ArgNames({"live", "log", "trace"})
    ->Args({256, 0, 1})
    ->Args({1000, 0, 0})
    ->Args({1000, 0, 1})
    ->Args({1000, 1, 1});

BENCHMARK_MAIN();
