// Event decoding throughput on events recorded from the real Asterisk 22 lab
// (corpus/events.jsonl, one WebSocket message per line), and the cost of the delivery queue.
#include <ari/events.hpp>

#include <benchmark/benchmark.h>

#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

const std::vector<std::string>& corpus() {
    static const std::vector<std::string> lines = [] {
        std::ifstream in(ARI_CORPUS_FILE);
        std::vector<std::string> out;
        for (std::string line; std::getline(in, line);)
            if (!line.empty()) out.push_back(line);
        if (out.empty()) throw std::runtime_error("empty corpus " ARI_CORPUS_FILE);
        return out;
    }();
    return lines;
}

std::size_t total_bytes(const std::vector<std::string>& lines) {
    std::size_t n = 0;
    for (const auto& l : lines) n += l.size();
    return n;
}

// Text to typed event (parse + typed fields + raw JSON kept): what the read loop does.
void BM_DecodeCorpus(benchmark::State& state) {
    const auto& lines = corpus();
    for (auto _ : state) {
        for (const auto& line : lines) {
            auto e = ari::decode_event(line);
            benchmark::DoNotOptimize(e);
        }
    }
    state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(lines.size()));
    state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(total_bytes(lines)));
}
BENCHMARK(BM_DecodeCorpus);

// JSON parsing alone, to show what the typed layer adds on top.
void BM_ParseJsonOnly(benchmark::State& state) {
    const auto& lines = corpus();
    for (auto _ : state) {
        for (const auto& line : lines) {
            auto j = nlohmann::json::parse(line, nullptr, false);
            benchmark::DoNotOptimize(j);
        }
    }
    state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(lines.size()));
    state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(total_bytes(lines)));
}
BENCHMARK(BM_ParseJsonOnly);

// One event type at a time: StasisStart is the largest and the one on the call path.
void BM_DecodeType(benchmark::State& state, const std::string& type) {
    std::vector<std::string> lines;
    for (const auto& l : corpus())
        if (l.find("\"type\":\"" + type + "\"") != std::string::npos) lines.push_back(l);
    if (lines.empty()) {
        state.SkipWithError(("no " + type + " in corpus").c_str());
        return;
    }
    for (auto _ : state) {
        for (const auto& line : lines) {
            auto e = ari::decode_event(line);
            benchmark::DoNotOptimize(e);
        }
    }
    state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(lines.size()));
}
BENCHMARK_CAPTURE(BM_DecodeType, StasisStart, std::string("StasisStart"));
BENCHMARK_CAPTURE(BM_DecodeType, ChannelVarset, std::string("ChannelVarset"));
BENCHMARK_CAPTURE(BM_DecodeType, ChannelUserevent, std::string("ChannelUserevent"));

}  // namespace

BENCHMARK_MAIN();
