// The HEP intake's hot path on one core: HEP decode, SIP parse, Genesys check,
// de-duplication and NotifyEvent, as HepListener runs it for every datagram Asterisk copies.
// Reports datagrams/s (items_per_second) and heap allocations per datagram.
#include "intake/hep_intake.hpp"
#include "intake/hep_packet.hpp"
#include "intake/sip_message.hpp"
#include "intake_hep_builder.hpp"

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

namespace {
// Replacing operator new is the only way to count allocations, and it is process-wide.
std::atomic<std::uint64_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}

namespace {

using talkgate::intake::HepIntake;
using talkgate::intake::HepIntakeSettings;
using talkgate::intake::IpAddress;
using talkgate::test::genesys_notify;
using talkgate::test::HepBuilder;
using Clock = std::chrono::steady_clock;

// A Genesys-style Call-ID (about 40 characters, as SIP Server's are).
std::string call_id(std::size_t i) {
    return "0" + std::to_string(100000000 + i) + "-7E53A1D2B4C4-" + std::to_string(i) +
           "@10.20.30.40";
}

std::string ringing(const std::string& cid) {
    return "SIP/2.0 180 Ringing\r\n"
           "Via: SIP/2.0/UDP "
           "127.0.0.2:5060;rport=5060;received=127.0.0.2;branch=z9hG4bK-524287-1\r\n"
           "Call-ID: " +
           cid +
           "\r\n"
           "From: <sip:genesys@127.0.0.2:5060>;tag=gen-tag-1\r\n"
           "To: <sip:1002@127.0.0.1>;tag=8d4a7c3f-52a1-4a43-a2b2-d6b1e6c1a1f0\r\n"
           "CSeq: 1 INVITE\r\n"
           "Server: talkgate-lab\r\n"
           "Contact: <sip:127.0.0.1:5060>\r\n"
           "Allow: OPTIONS, REGISTER, SUBSCRIBE, NOTIFY, PUBLISH, INVITE, ACK, BYE, CANCEL\r\n"
           "Content-Length:  0\r\n\r\n";
}

HepIntakeSettings settings() {
    HepIntakeSettings s;
    s.genesys_hosts = {IpAddress::from_string("10.20.30.40"), IpAddress::from_string("127.0.0.2")};
    return s;
}

void report(benchmark::State& state, std::uint64_t allocations) {
    state.SetItemsProcessed(state.iterations());
    state.counters["allocs_per_datagram"] =
        benchmark::Counter(static_cast<double>(allocations), benchmark::Counter::kAvgIterations);
}

void BM_ParseHep(benchmark::State& state) {
    const std::string d = HepBuilder().build(genesys_notify(call_id(1), 20));
    const auto a0 = g_allocations.load();
    for (auto _ : state) {
        auto p = talkgate::intake::parse_hep(d);
        benchmark::DoNotOptimize(p);
    }
    report(state, g_allocations.load() - a0);
}
BENCHMARK(BM_ParseHep);

void BM_ParseSipNotify(benchmark::State& state) {
    const std::string m = genesys_notify(call_id(1), 20);
    const auto a0 = g_allocations.load();
    for (auto _ : state) {
        auto p = talkgate::intake::parse_sip(m);
        benchmark::DoNotOptimize(p);
    }
    report(state, g_allocations.load() - a0);
}
BENCHMARK(BM_ParseSipNotify);

// Genesys retransmitting one NOTIFY: every copy is parsed and dropped as a duplicate.
void BM_IntakeRetransmission(benchmark::State& state) {
    HepIntake intake(settings());
    const std::string d = HepBuilder().build(genesys_notify(call_id(1), 20));
    const auto agent = IpAddress::from_string("127.0.0.1");
    auto now = Clock::now();
    intake.process(d, agent, now);
    const auto a0 = g_allocations.load();
    for (auto _ : state) {
        auto o = intake.process(d, agent, now);
        benchmark::DoNotOptimize(o);
    }
    report(state, g_allocations.load() - a0);
}
BENCHMARK(BM_IntakeRetransmission);

// A new NOTIFY transaction every datagram: parse, insert into the de-duplicator, build the
// NotifyEvent. The clock advances 10 ms per datagram, so keys expire before their Call-ID
// comes round again (4096 Call-IDs x 10 ms > the 40 s window).
void BM_IntakeNewNotify(benchmark::State& state) {
    HepIntake intake(settings());
    std::vector<std::string> ds;
    for (std::size_t i = 0; i < 4096; ++i)
        ds.push_back(HepBuilder().build(genesys_notify(call_id(i), 20)));
    const auto agent = IpAddress::from_string("127.0.0.1");
    auto now = Clock::now();
    std::size_t i = 0;
    for (std::size_t w = 0; w < ds.size(); ++w)
        intake.process(ds[w], agent, now += std::chrono::milliseconds(10));
    const auto a0 = g_allocations.load();
    for (auto _ : state) {
        auto o = intake.process(ds[i], agent, now += std::chrono::milliseconds(10));
        benchmark::DoNotOptimize(o);
        i = (i + 1) % ds.size();
    }
    report(state, g_allocations.load() - a0);
    if (intake.counters().duplicates != 0) state.SkipWithError("keys did not expire");
}
BENCHMARK(BM_IntakeNewNotify);

// What Asterisk copies for one answered-by-NOTIFY call, per call: INVITE in, 100 and 180 out,
// NOTIFY talk in four times (one new, three retransmissions), 200 and ACK: 9 datagrams, of
// which 5 are not NOTIFYs.
void BM_IntakeCallMix(benchmark::State& state) {
    HepIntake intake(settings());
    std::vector<std::string> ds;
    for (std::size_t c = 0; c < 512; ++c) {
        const std::string cid = call_id(c);
        HepBuilder in;
        HepBuilder out;
        out.src_ip = "127.0.0.1";
        out.dst_ip = "127.0.0.2";
        std::string invite = genesys_notify(cid, 1);
        invite.replace(0, 6, "INVITE");
        invite.replace(invite.find("1 NOTIFY"), 8, "1 INVITE");
        std::string trying = ringing(cid);
        trying.replace(8, 11, "100 Trying ");
        std::string ok = ringing(cid);
        ok.replace(8, 11, "200 OK     ");
        std::string ack = genesys_notify(cid, 1);
        ack.replace(0, 6, "ACK");
        ack.replace(ack.find("1 NOTIFY"), 8, "1 ACK");
        ds.push_back(in.build(invite));
        ds.push_back(out.build(trying));
        ds.push_back(out.build(ringing(cid)));
        for (int r = 0; r < 4; ++r) ds.push_back(in.build(genesys_notify(cid, 20)));
        ds.push_back(out.build(ok));
        ds.push_back(in.build(ack));
    }
    const auto agent = IpAddress::from_string("127.0.0.1");
    auto now = Clock::now();
    std::size_t i = 0;
    for (std::size_t w = 0; w < ds.size(); ++w)
        intake.process(ds[w], agent, now += std::chrono::milliseconds(10));
    const auto a0 = g_allocations.load();
    for (auto _ : state) {
        auto o = intake.process(ds[i], agent, now += std::chrono::milliseconds(10));
        benchmark::DoNotOptimize(o);
        i = (i + 1) % ds.size();
    }
    report(state, g_allocations.load() - a0);
    const auto& c = intake.counters();
    if (c.rejected_total() != 0) state.SkipWithError("the mix has rejected datagrams");
    state.counters["notifies_per_datagram"] =
        benchmark::Counter(static_cast<double>(c.notifies), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_IntakeCallMix);

}  // namespace

BENCHMARK_MAIN();
