// The ConnectionSupervisor: readiness and metrics from connection states, and the resync
// (three ARI requests, one Resync for the flow) against a loopback fake ARI.
#include "controller/connection_supervisor.hpp"

#include "ami/client.hpp"
#include "fake_server.hpp"
#include "metrics/talkgate_metrics.hpp"
#include "polling.hpp"

#include <gtest/gtest.h>
#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>

#include <mutex>

namespace talkgate::controller {
namespace {

using namespace std::chrono_literals;
using namespace ari_test;

TEST(AriTime, CreationTimeWithItsZoneIsUtc) {
    auto t = parse_ari_time("2026-11-30T22:48:47.541+0100");
    ASSERT_TRUE(t);
    EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count(),
              1796075327541);
    EXPECT_FALSE(parse_ari_time(""));
    EXPECT_FALSE(parse_ari_time("yesterday"));
}

TEST(ResyncFrom, ChannelsKnowWhetherTheyAreInTheAppAndHowOld) {
    ari::Channel g;
    g.id = "g1";
    g.name = "PJSIP/genesys-1";
    g.state = "Up";
    g.protocol_id = "cid-1";
    g.dialplan.context = "from-genesys";
    g.dialplan.exten = "1002";
    g.creationtime = "2026-11-30T22:48:47.000+0000";
    g.channelvars = {{"GENESYS_CALL_UUID", "U1"}};
    ari::Channel other = g;
    other.id = "x1";
    other.creationtime = "";
    ari::Bridge b;
    b.id = "g1-bridge";
    b.name = "talkgate";
    b.channels = {"g1", "g1-agent"};
    const auto wall = *parse_ari_time("2026-11-30T22:48:57.500+0000");
    auto r = resync_from({"g1"}, {g, other}, {b}, wall);
    ASSERT_EQ(r.channels.size(), 2u);
    const auto& s = r.channels[0];
    EXPECT_EQ(s.id, "g1");
    EXPECT_EQ(s.context, "from-genesys");
    EXPECT_EQ(s.exten, "1002");
    EXPECT_EQ(s.call_id, "cid-1");
    EXPECT_TRUE(s.in_app);
    EXPECT_EQ(s.vars.at("GENESYS_CALL_UUID"), "U1");
    ASSERT_TRUE(s.age);
    EXPECT_EQ(*s.age, 10500ms);
    EXPECT_FALSE(r.channels[1].in_app);
    EXPECT_FALSE(r.channels[1].age);
    ASSERT_EQ(r.bridges.size(), 1u);
    EXPECT_EQ(r.bridges[0].channels, (std::vector<std::string>{"g1", "g1-agent"}));
    EXPECT_FALSE(r.requested_at) << "the supervisor dates the request, not the lists";
}

// Answers the three resync requests the way Asterisk does; counts what it was asked.
class FakeAri {
  public:
    FakeAri()
        : server_([this](tcp::socket& s) {
              beast::flat_buffer buf;
              for (;;) {
                  http::request<http::string_body> req;
                  http::read(s, buf, req);
                  const std::string target(req.target());
                  {
                      std::lock_guard lock(mu_);
                      targets_.push_back(target);
                  }
                  http::response<http::string_body> res{http::status::ok, 11};
                  res.set(http::field::content_type, "application/json");
                  if (target.rfind("/ari/applications/", 0) == 0)
                      res.body() = R"({"name":"app","channel_ids":["g1"]})";
                  else if (target.rfind("/ari/channels", 0) == 0)
                      res.body() = R"([{"id":"g1","name":"PJSIP/genesys-1","state":"Ring",)"
                                   R"("dialplan":{"context":"from-genesys","exten":"1002"}},)"
                                   R"({"id":"x1","name":"PJSIP/1005-1","state":"Up"}])";
                  else if (target.rfind("/ari/bridges", 0) == 0)
                      res.body() = "[]";
                  else
                      res.result(http::status::not_found);
                  res.prepare_payload();
                  http::write(s, res);
              }
          }) {}

    ari::ClientConfig config() const {
        ari::ClientConfig c;
        c.base_url = server_.url();
        c.user = "supervisor-test";
        c.password = "supervisor-test-password";
        c.app = "app";
        c.request_timeout = 2s;
        return c;
    }

    std::vector<std::string> targets() {
        std::lock_guard lock(mu_);
        return targets_;
    }

  private:
    std::mutex mu_;
    std::vector<std::string> targets_;
    FakeServer server_;
};

class SupervisorTest : public ::testing::Test {
  protected:
    SupervisorTest() {
        config.ari_app = "app";
        ConnectionSupervisor::Hooks hooks;
        hooks.resync = [this](flow::Resync r) { resyncs.push_back(std::move(r)); };
        hooks.ami_up = [this](bool up) { ami_changes.push_back(up); };
        hooks.tracked_calls = [] { return std::size_t{0}; };
        // The REST client's completions run on io, like the controller's.
        auto rest = std::make_shared<ari::RestClient>(
            ari.config(), [this](std::function<void()> f) { boost::asio::post(io, f); });
        supervisor = std::make_shared<ConnectionSupervisor>(io, config, metrics, rest, hooks);
    }

    template <class F>
    bool run_until(F done) {
        return test::run_io_until(io, done, 500);
    }

    double up(metrics::Peer peer) {
        return metrics.connection_up.labels({metrics::to_string(peer)}).value();
    }

    FakeAri ari;
    boost::asio::io_context io;
    // Keeps run_for() waiting for completions that other threads post.
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{
        io.get_executor()};
    Config config;
    metrics::TalkgateMetrics metrics;
    std::vector<flow::Resync> resyncs;
    std::vector<bool> ami_changes;
    std::shared_ptr<ConnectionSupervisor> supervisor;
};

TEST_F(SupervisorTest, AriConnectMakesItReadySetsTheEventFilterAndResyncsWithThreeRequests) {
    EXPECT_FALSE(supervisor->readiness().ari_up);
    const auto before = flow::Clock::now();
    supervisor->on_ari_state({ari::ConnectionState::Kind::connected, ""});
    EXPECT_TRUE(supervisor->readiness().ari_up);
    EXPECT_EQ(up(metrics::Peer::ari), 1);
    ASSERT_TRUE(run_until([&] { return !resyncs.empty(); })) << "no Resync within 5 s";
    const auto& r = resyncs[0];
    ASSERT_EQ(r.channels.size(), 2u);
    EXPECT_TRUE(r.channels[0].in_app);
    EXPECT_EQ(r.channels[0].context, "from-genesys");
    EXPECT_FALSE(r.channels[1].in_app);
    ASSERT_TRUE(r.requested_at);
    EXPECT_GE(*r.requested_at, before);
    // The event filter and the resync's first GET go out together: compare without order.
    auto targets = ari.targets();
    std::sort(targets.begin(), targets.end());
    EXPECT_EQ(targets, (std::vector<std::string>{"/ari/applications/app",
                                                 "/ari/applications/app/eventFilter",
                                                 "/ari/bridges", "/ari/channels"}));

    supervisor->on_ari_state({ari::ConnectionState::Kind::disconnected, "gone"});
    EXPECT_FALSE(supervisor->readiness().ari_up);
    EXPECT_EQ(up(metrics::Peer::ari), 0);
    supervisor->on_ari_state({ari::ConnectionState::Kind::reconnected, ""});
    EXPECT_EQ(metrics.reconnects.labels({"ari"}).value(), 1u);
    ASSERT_TRUE(run_until([&] { return resyncs.size() == 2; }));
}

TEST_F(SupervisorTest, AmiReconnectResyncsAndEveryChangeReachesTheHook) {
    ami::ConnectionState st;
    st.kind = ami::ConnectionState::Kind::connected;
    supervisor->on_ami_state(st);
    EXPECT_TRUE(supervisor->readiness().ami_up);
    st.kind = ami::ConnectionState::Kind::disconnected;
    supervisor->on_ami_state(st);
    EXPECT_FALSE(supervisor->readiness().ami_up);
    EXPECT_EQ(up(metrics::Peer::ami), 0);
    st.kind = ami::ConnectionState::Kind::connected;
    supervisor->on_ami_state(st);
    EXPECT_EQ(ami_changes, (std::vector<bool>{true, false, true}));
    EXPECT_EQ(metrics.reconnects.labels({"ami"}).value(), 1u);
    // Only the reconnect resyncs: AMI's first login comes with ARI's own resync.
    ASSERT_TRUE(run_until([&] { return !resyncs.empty(); }));
    test::run_io_for(io, 10);  // a second resync would have come by now
    EXPECT_EQ(resyncs.size(), 1u);
    EXPECT_EQ(ari.targets().size(), 3u);
}

TEST_F(SupervisorTest, HepIsRequiredOnlyWhenItIsANotifySource) {
    EXPECT_TRUE(supervisor->readiness().hep_required);
    EXPECT_FALSE(supervisor->readiness().hep_up);
    supervisor->hep_listening();
    EXPECT_TRUE(supervisor->readiness().hep_up);
    EXPECT_EQ(up(metrics::Peer::hep), 1);
}

}  // namespace
}  // namespace talkgate::controller
