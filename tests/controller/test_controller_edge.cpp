// The controller's edge without Asterisk: HEP datagrams on loopback into a real Controller
// (ARI and AMI point at a closed port), and talkgate_notify_rejected_total{reason} moving
// where each reject happens.
#include "controller/controller.hpp"
#include "intake_hep_builder.hpp"
#include "listed_calls.hpp"
#include "metrics/talkgate_metrics.hpp"
#include "metrics_exposition_parser.hpp"
#include "polling.hpp"

#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/udp.hpp>

#include <optional>
#include <thread>

namespace talkgate::controller {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

// A loopback port nothing listens on: ARI and AMI connects are refused and retried.
unsigned short closed_port() {
    asio::io_context io;
    asio::ip::udp::socket s(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return s.local_endpoint().port();
}

class ControllerEdgeTest : public ::testing::Test {
  protected:
    ControllerEdgeTest() : work_(io_.get_executor()) {
        const auto port = std::to_string(closed_port());
        config_.ari_url = "http://127.0.0.1:" + port;
        config_.ari_user = "edge";
        config_.ari_password = "edge-test-password";
        config_.ari_app = "talkgate-edge";
        config_.asterisk_host = "127.0.0.1";
        config_.ami_port = static_cast<unsigned short>(std::stoi(port));
        config_.ami_user = "edge";
        config_.ami_secret = "edge-test-secret";
        config_.genesys_sip_hosts = {"127.0.0.2"};
        config_.hep_listen = {"127.0.0.1", 0};
        config_.hep_password = "edge-capture-password";
    }

    ~ControllerEdgeTest() override {
        if (controller_) controller_->stop();
        work_.reset();
        io_.stop();
        if (thread_.joinable()) thread_.join();
    }

    void start() {
        controller_ = std::make_unique<Controller>(io_, config_, metrics_);
        std::string error;
        ASSERT_TRUE(controller_->start(error)) << error;
        thread_ = std::thread([this] { io_.run(); });
    }

    void send_hep(const std::string& datagram) {
        asio::io_context io;
        asio::ip::udp::socket s(io, asio::ip::udp::v4());
        s.send_to(
            asio::buffer(datagram),
            asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), controller_->hep_port()));
    }

    double rejected(const std::string& reason) {
        auto p = test::parse_prometheus_text(metrics_.registry.render());
        return p.value("talkgate_notify_rejected_total", {{"reason", reason}}).value_or(0);
    }

    // Bounded wait for a counter the io thread moves.
    bool wait_for(const std::string& reason, double n) {
        return test::wait_until([&] { return rejected(reason) >= n; }, 5s, 20ms);
    }

    test::HepBuilder genesys() {
        test::HepBuilder b;
        b.password = config_.hep_password;
        return b;
    }

    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_;
    Config config_;
    metrics::TalkgateMetrics metrics_;
    std::unique_ptr<Controller> controller_;
    std::thread thread_;
};

TEST_F(ControllerEdgeTest, HepRejectsAreCountedByReason) {
    start();
    auto stranger = genesys();
    stranger.src_ip = "127.0.0.9";
    send_hep(stranger.build(test::genesys_notify("cid-1@127.0.0.9", 2)));
    EXPECT_TRUE(wait_for("not_genesys", 1));

    auto no_password = genesys();
    no_password.password = "wrong-password";
    send_hep(no_password.build(test::genesys_notify("cid-2@127.0.0.2", 2)));
    EXPECT_TRUE(wait_for("bad_password", 1));

    send_hep("HEP3 this is not a HEP packet");
    EXPECT_TRUE(wait_for("malformed_hep", 1));

    send_hep(genesys().build("NOTIFY nonsense\r\n\r\n"));
    EXPECT_TRUE(wait_for("malformed_sip", 1));

    send_hep(genesys().build(test::genesys_notify("cid-3@127.0.0.2", 2, "talk", "10\xe9")));
    EXPECT_TRUE(wait_for("bad_notify", 1));
}

// Issue 11 regression at the controller: the NOTIFY with a non-UTF-8 CallUUID is taken (it
// reaches the flow and is counted as received), its header is dropped and counted, and the
// status source still lists calls afterwards.
TEST_F(ControllerEdgeTest, NonUtf8CallUuidIsDroppedAndCountedAndNothingStops) {
    start();
    send_hep(genesys().build(
        test::genesys_notify("cid-4@127.0.0.2", 2, "talk", "1002", std::string("\xe9\xff", 2))));
    EXPECT_TRUE(wait_for("bad_header", 1));
    auto p = test::parse_prometheus_text(metrics_.registry.render());
    EXPECT_EQ(p.value("talkgate_notify_received_total", {{"event", "talk"}, {"source", "hep"}}),
              1.0);
    EXPECT_EQ(test::listed_calls(*controller_, 5s), std::optional<std::size_t>(0))
        << "nullopt: the io thread no longer answers";
}

}  // namespace
}  // namespace talkgate::controller
