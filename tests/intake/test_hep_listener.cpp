// The HEP listener over real UDP sockets on loopback (random free port): delivery on the
// io_context, capture-agent check, counters, rate-limited rejects, stop.
#include "intake/hep_listener.hpp"
#include "intake_hep_builder.hpp"
#include "polling.hpp"
#include "udp_receiver.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <boost/asio.hpp>

#include <array>
#include <atomic>
#include <sstream>
#include <thread>

namespace {

namespace asio = boost::asio;
using talkgate::intake::HepCounters;
using talkgate::intake::HepListener;
using talkgate::intake::HepListenerSettings;
using talkgate::intake::HepReject;
using talkgate::intake::IpAddress;
using talkgate::intake::NotifyEvent;
using talkgate::test::genesys_notify;
using talkgate::test::HepBuilder;
using namespace std::chrono_literals;

// A listener on its own io_context thread, collecting events and the thread they ran on.
class Harness {
  public:
    explicit Harness(HepListenerSettings s)
        : work_(asio::make_work_guard(io_)), listener_(io_, std::move(s), [this](NotifyEvent e) {
              std::lock_guard<std::mutex> lock(mu_);
              threads_.push_back(std::this_thread::get_id());
              events_.push_back(std::move(e));
          }) {}
    ~Harness() {
        listener_.stop();
        work_.reset();
        io_.stop();
        if (thread_.joinable()) thread_.join();
    }

    boost::system::error_code start() {
        auto ec = listener_.start();
        thread_ = std::thread([this] { io_.run(); });
        return ec;
    }

    void send(const std::string& datagram, const std::string& from_ip = "127.0.0.1") {
        asio::io_context io;
        asio::ip::udp::socket s(io, asio::ip::udp::endpoint(asio::ip::make_address(from_ip), 0));
        s.send_to(asio::buffer(datagram), listener_.local_endpoint());
    }

    // Waits until `pred(counters)` holds (bounded), returns the last counters.
    template <class Pred>
    HepCounters wait_for(Pred pred) {
        HepCounters c;
        talkgate::test::wait_until(
            [&] {
                c = listener_.counters();
                return pred(c);
            },
            2s, 10ms);
        return c;
    }

    std::vector<NotifyEvent> events() {
        std::lock_guard<std::mutex> lock(mu_);
        return events_;
    }
    std::vector<std::thread::id> threads() {
        std::lock_guard<std::mutex> lock(mu_);
        return threads_;
    }
    std::thread::id io_thread() const { return thread_.get_id(); }
    HepListener& listener() { return listener_; }

  private:
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_;
    HepListener listener_;
    std::thread thread_;
    std::mutex mu_;
    std::vector<NotifyEvent> events_;
    std::vector<std::thread::id> threads_;
};

HepListenerSettings settings() {
    HepListenerSettings s;
    s.listen_host = "127.0.0.1";
    s.listen_port = 0;
    s.intake.genesys_hosts = {IpAddress::from_string("127.0.0.2")};
    return s;
}

TEST(HepListener, DeliversEachNotifyOnceOnTheIoContextThread) {
    Harness h(settings());
    ASSERT_FALSE(h.start());
    ASSERT_NE(h.listener().local_endpoint().port(), 0);
    const auto d = HepBuilder().build(genesys_notify("listener-call", 3));
    for (int i = 0; i < 4; ++i) h.send(d);
    auto c = h.wait_for([](const HepCounters& c) { return c.datagrams >= 4; });
    EXPECT_EQ(c.datagrams, 4u);
    EXPECT_EQ(c.notifies, 1u);
    EXPECT_EQ(c.duplicates, 3u);
    auto events = h.events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].call_id, "listener-call");
    EXPECT_EQ(events[0].dn, "1002");
    ASSERT_EQ(h.threads().size(), 1u);
    EXPECT_EQ(h.threads()[0], h.io_thread());
}

TEST(HepListener, RejectsDatagramsFromSendersThatAreNotCaptureAgents) {
    Harness h(settings());
    ASSERT_FALSE(h.start());
    h.send(HepBuilder().build(genesys_notify("c", 1)), "127.0.0.9");
    auto c = h.wait_for([](const HepCounters& c) { return c.datagrams >= 1; });
    EXPECT_EQ(c.rejected_for(HepReject::unknown_agent), 1u);
    EXPECT_TRUE(h.events().empty());
}

TEST(HepListener, KeepsListeningAfterGarbageAndChecksThePassword) {
    auto s = settings();
    s.intake.capture_password = "pw-for-this-test";
    s.reject_log_interval = 1h;
    Harness h(s);
    ASSERT_FALSE(h.start());
    for (int i = 0; i < 50; ++i) h.send(std::string(static_cast<std::size_t>(i), 'x'));
    h.send(HepBuilder().build(genesys_notify("c", 1)));
    HepBuilder ok;
    ok.password = "pw-for-this-test";
    h.send(ok.build(genesys_notify("c", 1)));
    auto c = h.wait_for([](const HepCounters& c) { return c.datagrams >= 52; });
    EXPECT_EQ(c.rejected_for(HepReject::malformed_hep), 50u);
    EXPECT_EQ(c.rejected_for(HepReject::bad_password), 1u);
    EXPECT_EQ(c.notifies, 1u);
    EXPECT_EQ(h.events().size(), 1u);
}

// Records what the listener logs (spdlog's default logger), restoring the previous one after.
class LogCapture {
  public:
    LogCapture() : previous_(spdlog::default_logger()) {
        auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(lines_);
        spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
    }
    ~LogCapture() { spdlog::set_default_logger(previous_); }
    std::string text() const { return lines_.str(); }
    std::size_t count(const std::string& needle) const {
        const std::string t = text();
        std::size_t n = 0;
        for (auto at = t.find(needle); at != std::string::npos; at = t.find(needle, at + 1)) ++n;
        return n;
    }

  private:
    std::shared_ptr<spdlog::logger> previous_;
    std::ostringstream lines_;
};

TEST(HepListener, RejectLogLinesAreRateLimitedPerReasonAndCarryNoSecret) {
    LogCapture log;
    auto s = settings();
    s.intake.capture_password = "never-log-this";
    s.reject_log_interval = 1h;
    Harness h(s);
    ASSERT_FALSE(h.start());
    HepBuilder wrong;
    wrong.password = "never-log-this-either";
    for (int i = 0; i < 20; ++i) {
        h.send("not HEP at all");
        h.send(wrong.build(genesys_notify("c", 1)));
    }
    auto c = h.wait_for([](const HepCounters& c) { return c.datagrams >= 40; });
    ASSERT_EQ(c.rejected_total(), 40u);
    EXPECT_EQ(log.count("malformed_hep"), 1u) << log.text();
    EXPECT_EQ(log.count("bad_password"), 1u) << log.text();
    EXPECT_EQ(log.text().find("never-log-this"), std::string::npos) << log.text();
}

// Issue 11: what a handler throws is caught, counted (talkgate_handler_errors_total{component=
// "hep"} in talkgate) and the next datagram is handled as usual.
TEST(HepListener, AThrowingHandlerIsCountedAndDoesNotStopTheListener) {
    asio::io_context io;
    int calls = 0;
    int errors = 0;
    auto s_settings = settings();
    s_settings.on_handler_error = [&errors] { ++errors; };
    HepListener listener(io, s_settings, [&](NotifyEvent) {
        ++calls;
        throw std::runtime_error("handler bug");
    });
    ASSERT_FALSE(listener.start());
    asio::ip::udp::socket s(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    s.send_to(asio::buffer(HepBuilder().build(genesys_notify("t1", 1))), listener.local_endpoint());
    s.send_to(asio::buffer(HepBuilder().build(genesys_notify("t2", 1))), listener.local_endpoint());
    for (int i = 0; i < 200 && calls < 2; ++i) io.run_for(10ms);
    EXPECT_EQ(calls, 2);
    EXPECT_EQ(errors, 2);
    EXPECT_EQ(listener.counters().notifies, 2u);
}

TEST(HepListener, StartFailsWhenThePortIsTaken) {
    Harness first(settings());
    ASSERT_FALSE(first.start());
    auto s = settings();
    s.listen_port = first.listener().local_endpoint().port();
    Harness second(s);
    EXPECT_TRUE(second.start());
    auto bad = settings();
    bad.listen_host = "not-an-address";
    Harness third(bad);
    EXPECT_TRUE(third.start());
}

TEST(HepListener, DeliversNothingAfterStop) {
    Harness h(settings());
    ASSERT_FALSE(h.start());
    const auto port = h.listener().local_endpoint();
    h.listener().stop();
    // the close runs on the io_context; then the port is free again
    const bool closed = talkgate::test::wait_until(
        [&] {
            asio::io_context io;
            asio::ip::udp::socket probe(io);
            boost::system::error_code ec;
            probe.open(asio::ip::udp::v4(), ec);
            probe.bind(port, ec);
            return !ec;
        },
        2s, 10ms);
    EXPECT_TRUE(closed) << "the socket was not closed after stop()";
    EXPECT_TRUE(h.events().empty());
}

}  // namespace

namespace {

// HEP_FORWARD: two live collectors get every datagram byte for byte, in order; a dead one
// (nothing listens: ICMP port unreachable) only counts errors, and every NOTIFY still reaches
// the flow.
TEST(HepListener, ForwardsEveryDatagramUnchangedAndADeadTargetCostsNothing) {
    talkgate::test::UdpReceiver homer, second;
    const asio::ip::udp::endpoint dead(asio::ip::make_address("127.0.0.1"),
                                       talkgate::test::dead_udp_port());
    std::array<std::array<std::atomic<int>, 3>, 3> outcomes{};
    auto s = settings();
    s.forward.targets = {homer.endpoint(), dead, second.endpoint()};
    s.forward.on_outcome = [&](std::size_t i, talkgate::intake::ForwardOutcome o) {
        ++outcomes.at(i)[static_cast<std::size_t>(o)];
    };
    std::vector<std::string> sent;
    constexpr int kDatagrams = 40;
    for (int i = 0; i < kDatagrams; ++i) {
        // NOTIFYs, their retransmissions, other SIP and garbage: all pass on unchanged.
        if (i % 4 == 3)
            sent.push_back("not HEP at all \x01\x02" + std::to_string(i));
        else
            sent.push_back(HepBuilder().build(genesys_notify("fwd-" + std::to_string(i / 2), 2)));
    }
    std::atomic<int> delivered{0};
    asio::io_context io;
    auto work = asio::make_work_guard(io);
    HepListener listener(io, s, [&](NotifyEvent) { ++delivered; });
    ASSERT_FALSE(listener.start());
    std::thread t([&] { io.run(); });
    asio::io_context client_io;
    asio::ip::udp::socket client(client_io, {asio::ip::make_address("127.0.0.1"), 0});
    for (const auto& d : sent) client.send_to(asio::buffer(d), listener.local_endpoint());
    // A stranger's datagram is not relayed.
    asio::ip::udp::socket stranger(client_io, {asio::ip::make_address("127.0.0.9"), 0});
    stranger.send_to(asio::buffer(sent[0]), listener.local_endpoint());

    const auto& got = homer.receive(sent.size(), 5s);
    const auto& got2 = second.receive(sent.size(), 5s);
    talkgate::test::wait_until(
        [&] { return outcomes[1][0] + outcomes[1][2] + outcomes[1][1] == kDatagrams; }, 5s, 10ms);
    listener.stop();
    work.reset();
    t.join();

    EXPECT_EQ(got, sent);
    EXPECT_EQ(got2, sent);
    EXPECT_EQ(second.receive(sent.size() + 1, 300ms).size(), sent.size()) << "nothing more";
    EXPECT_EQ(delivered, 20) << "each of the 20 Call-IDs' NOTIFY once, none lost";
    EXPECT_EQ(outcomes[0][0], kDatagrams);
    EXPECT_EQ(outcomes[2][0], kDatagrams);
    EXPECT_EQ(outcomes[1][0] + outcomes[1][2], kDatagrams);
    EXPECT_GE(outcomes[1][2], 1) << "the dead target's ICMP errors are counted";
    EXPECT_EQ(outcomes[0][1] + outcomes[1][1] + outcomes[2][1], 0);
}

TEST(HepListener, AFullForwardQueueDropsAndCountsWithoutWaiting) {
    talkgate::test::UdpReceiver homer;
    std::atomic<int> dropped{0}, sent_out{0};
    auto s = settings();
    s.forward.targets = {homer.endpoint()};
    s.forward.queue_limit = 0;  // every datagram finds the queue full
    s.forward.on_outcome = [&](std::size_t, talkgate::intake::ForwardOutcome o) {
        ++(o == talkgate::intake::ForwardOutcome::dropped ? dropped : sent_out);
    };
    Harness h(s);
    ASSERT_FALSE(h.start());
    for (int i = 0; i < 5; ++i)
        h.send(HepBuilder().build(genesys_notify("q-" + std::to_string(i), 1)));
    h.wait_for([](const HepCounters& c) { return c.datagrams >= 5; });
    EXPECT_TRUE(talkgate::test::wait_until([&] { return dropped == 5; }, 2s, 10ms));
    EXPECT_EQ(h.events().size(), 5u);
    EXPECT_EQ(sent_out, 0);
    EXPECT_TRUE(homer.receive(1, 300ms).empty());
}

}  // namespace
