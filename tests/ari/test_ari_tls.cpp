// ari-client over TLS (https + wss) against a fake loopback peer with a self-signed
// certificate made for the test: verification on by default, the CA file option, and the
// explicit insecure mode.
#include "ari_test_util.hpp"
#include "fake_server.hpp"

#include <ari/event_stream.hpp>
#include <ari/rest_client.hpp>

#include <gtest/gtest.h>
#include <boost/asio/ssl.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <cstdlib>
#include <filesystem>

namespace {

using namespace std::chrono_literals;
using namespace ari_test;
using Kind = ari::ConnectionState::Kind;
namespace ssl = boost::asio::ssl;
namespace websocket = beast::websocket;

// A certificate for 127.0.0.1 and its key, in a fresh directory per test binary run.
class TestCert {
  public:
    TestCert() {
        dir_ = std::filesystem::temp_directory_path() / ("ari-tls-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
        const std::string cmd =
            "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
            "-addext subjectAltName=IP:127.0.0.1 -keyout " +
            key() + " -out " + cert() + " >/dev/null 2>&1";
        ok_ = std::system(cmd.c_str()) == 0;
    }
    ~TestCert() {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    bool ok() const { return ok_; }
    std::string cert() const { return (dir_ / "cert.pem").string(); }
    std::string key() const { return (dir_ / "key.pem").string(); }

  private:
    std::filesystem::path dir_;
    bool ok_ = false;
};

const TestCert& test_cert() {
    static const TestCert cert;
    return cert;
}

std::shared_ptr<ssl::context> server_context() {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    ctx->use_certificate_chain_file(test_cert().cert());
    ctx->use_private_key_file(test_cert().key(), ssl::context::pem);
    return ctx;
}

// Answers REST with asterisk info and /ari/events with one event, both over TLS.
FakeServer tls_server() {
    auto ctx = server_context();
    return FakeServer([ctx](tcp::socket& s) {
        ssl::stream<tcp::socket&> tls(s, *ctx);
        tls.handshake(ssl::stream_base::server);
        beast::flat_buffer buf;
        http::request<http::string_body> req;
        http::read(tls, buf, req);
        if (!websocket::is_upgrade(req)) {
            http::response<http::string_body> res{http::status::ok, 11};
            res.set(http::field::content_type, "application/json");
            res.body() = R"({"system":{"version":"22-fake"}})";
            res.prepare_payload();
            http::write(tls, res);
            return;
        }
        websocket::stream<ssl::stream<tcp::socket&>&> ws(tls);
        ws.accept(req);
        ws.write(boost::asio::buffer(std::string(
            R"({"type":"ChannelVarset","variable":"TLS","value":"ok","channel":{"id":"1"}})")));
        beast::flat_buffer b;
        boost::system::error_code ec;
        while (!ec) ws.read(b, ec);
    });
}

ari::ClientConfig tls_config(const FakeServer& server) {
    ari::ClientConfig c;
    c.base_url = "https://127.0.0.1:" + std::to_string(server.port());
    c.user = "tester";
    c.password = "tls-secret";
    c.app = "tlsapp";
    c.request_timeout = 3s;
    c.backoff_initial = 100ms;
    c.backoff_max = 300ms;
    return c;
}

class AriTls : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(test_cert().ok())
            << "openssl CLI missing: cannot make a certificate (scripts/install-deps.sh)";
    }
};

TEST_F(AriTls, UntrustedCertificateIsRefusedByDefault) {
    auto server = tls_server();
    TaskThread worker;
    Recorder rec;
    auto c = tls_config(server);
    ari::RestClient rest(c, worker.executor());
    auto info = sync<nlohmann::json>([&](auto h) { rest.asterisk_info(h); });
    ASSERT_FALSE(info);
    EXPECT_EQ(info.error().kind, ari::Error::Kind::transport) << info.error().describe();

    ari::EventStream stream(c, worker.executor(), rec.event_handler(), rec.state_handler());
    stream.start();
    auto down = rec.state(Kind::disconnected, 5s);
    ASSERT_TRUE(down);
    EXPECT_FALSE(rec.state(Kind::connected, 300ms));
    EXPECT_EQ(stream.stats().connects, 0u);
}

TEST_F(AriTls, CaFileMakesTheCertificateTrusted) {
    auto server = tls_server();
    TaskThread worker;
    Recorder rec;
    auto c = tls_config(server);
    c.ca_file = test_cert().cert();
    ari::RestClient rest(c, worker.executor());
    auto info = sync<nlohmann::json>([&](auto h) { rest.asterisk_info(h); });
    ASSERT_TRUE(info) << info.error().describe();
    EXPECT_EQ(info.value()["system"]["version"], "22-fake");

    ari::EventStream stream(c, worker.executor(), rec.event_handler(), rec.state_handler());
    stream.start();
    ASSERT_TRUE(rec.state(Kind::connected, 5s));
    auto e = rec.next<ari::ChannelVarset>(5s);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->value, "ok");
}

TEST_F(AriTls, InsecureModeIsAnExplicitOptIn) {
    auto server = tls_server();
    TaskThread worker;
    Recorder rec;
    auto c = tls_config(server);
    c.insecure = true;
    ari::RestClient rest(c, worker.executor());
    auto info = sync<nlohmann::json>([&](auto h) { rest.asterisk_info(h); });
    ASSERT_TRUE(info) << info.error().describe();
    ari::EventStream stream(c, worker.executor(), rec.event_handler(), rec.state_handler());
    stream.start();
    ASSERT_TRUE(rec.state(Kind::connected, 5s));
}

}  // namespace
