// The AMI/ARI user-event contract against the real Asterisk 22: a GenesysNotify user event
// raised through AMI `UserEvent` and ARI `POST /events/user/...` comes back as Asterisk renders
// it, and notify_from_ami_userevent / notify_from_ari_userevent read it. (The Asterisk module
// that raises it for a real NOTIFY uses the same rendering path: channel user events.)
#include "intake/notify_deduplicator.hpp"
#include "intake/user_event_source.hpp"
#include "lab_ari.hpp"
#include "lab_env.hpp"

#include <cpprest/http_client.h>
#include <gtest/gtest.h>
#include <boost/asio.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>

namespace {

namespace asio = boost::asio;
using talkgate::intake::notify_from_ami_userevent;
using talkgate::intake::notify_from_ari_userevent;
using talkgate::intake::NotifyDeduplicator;
using talkgate::intake::NotifyKind;
using talkgate::intake::NotifySource;
using talkgate::test::LabEnv;
using Fields = std::vector<std::pair<std::string, std::string>>;
using talkgate::test::AriEvents;
using namespace std::chrono_literals;

// A raw AMI session: enough to log in, send an action and read messages as key/value lists.
class AmiSession {
  public:
    explicit AmiSession(const LabEnv& lab) : socket_(io_) {
        const asio::ip::tcp::endpoint ep(asio::ip::make_address(lab["LAB_AMI_HOST"]),
                                         static_cast<unsigned short>(lab.port("LAB_AMI_PORT")));
        if (!run([&](auto h) { socket_.async_connect(ep, h); }, 5s)) {
            throw std::runtime_error("AMI connect failed");
        }
        // the banner is one line with no blank line after it
        if (!run(
                [&](auto h) {
                    asio::async_read_until(socket_, asio::dynamic_buffer(in_), "\r\n", h);
                },
                5s)) {
            throw std::runtime_error("no AMI banner");
        }
        in_.erase(0, in_.find("\r\n") + 2);
        send({{"Action", "Login"},
              {"Username", lab["LAB_AMI_USER"]},
              {"Secret", lab["LAB_AMI_SECRET"]},
              {"Events", "user"}});
        auto r = next([](const Fields& f) { return !f.empty() && f[0].first == "Response"; }, 5s);
        if (!r || (*r)[0].second != "Success") throw std::runtime_error("AMI login failed");
    }

    void send(const Fields& fields) {
        std::string out;
        for (const auto& [k, v] : fields) out += k + ": " + v + "\r\n";
        out += "\r\n";
        if (!run([&](auto h) { asio::async_write(socket_, asio::buffer(out), h); }, 5s)) {
            throw std::runtime_error("AMI write failed");
        }
    }

    // The next message for which pred holds (others are dropped); bounded by `deadline`.
    template <class Pred>
    std::optional<Fields> next(Pred pred, std::chrono::milliseconds deadline) {
        const auto until = std::chrono::steady_clock::now() + deadline;
        while (std::chrono::steady_clock::now() < until) {
            const auto end = in_.find("\r\n\r\n");
            if (end == std::string::npos) {
                const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    until - std::chrono::steady_clock::now());
                if (!run(
                        [&](auto h) {
                            asio::async_read_until(socket_, asio::dynamic_buffer(in_), "\r\n\r\n",
                                                   h);
                        },
                        left)) {
                    return std::nullopt;
                }
                continue;
            }
            Fields f;
            std::size_t pos = 0;
            while (pos < end) {
                const auto eol = in_.find("\r\n", pos);
                const std::string line = in_.substr(pos, eol - pos);
                const auto colon = line.find(':');
                if (colon != std::string::npos) {
                    std::string value = line.substr(colon + 1);
                    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
                    f.emplace_back(line.substr(0, colon), value);
                }
                pos = eol + 2;
            }
            in_.erase(0, end + 4);
            if (pred(f)) return f;
        }
        return std::nullopt;
    }

  private:
    template <class Start>
    bool run(Start start, std::chrono::milliseconds deadline) {
        bool done = false;
        boost::system::error_code result;
        start([&](const boost::system::error_code& ec, auto&&...) {
            result = ec;
            done = true;
        });
        io_.restart();
        io_.run_for(deadline);
        if (!done) {
            boost::system::error_code ignored;
            socket_.cancel(ignored);
            io_.restart();
            io_.run_for(2s);
            return false;
        }
        return !result;
    }

    asio::io_context io_;
    asio::ip::tcp::socket socket_;
    std::string in_;
};

class IntakeUserEventLabTest : public ::testing::Test {
  protected:
    void TearDown() override { lab.reset(); }
    const LabEnv& lab = LabEnv::get();
};

TEST_F(IntakeUserEventLabTest, AmiUserEventGenesysNotifyAsAsteriskRendersIt) {
    AmiSession ami(lab);
    ami.send({{"Action", "UserEvent"},
              {"ActionID", "intake-1"},
              {"UserEvent", "GenesysNotify"},
              {"NotifyEvent", "talk"},
              {"CallID", "ami-lab-call@127.0.0.2"},
              {"CallUUID", "01AMILABUUID"},
              {"DN", "1002"},
              {"CSeq", "20"}});
    auto msg = ami.next(
        [](const Fields& f) {
            return !f.empty() && f[0].first == "Event" && f[0].second == "UserEvent";
        },
        5s);
    ASSERT_TRUE(msg) << "no UserEvent from AMI within 5 s";
    std::string error;
    auto e = notify_from_ami_userevent(*msg, &error);
    ASSERT_TRUE(e) << error;
    EXPECT_EQ(e->kind, NotifyKind::talk);
    EXPECT_EQ(e->call_id, "ami-lab-call@127.0.0.2");
    EXPECT_EQ(e->call_uuid, "01AMILABUUID");
    EXPECT_EQ(e->dn, "1002");
    EXPECT_EQ(e->cseq, 20u);
    EXPECT_EQ(e->source, NotifySource::ami);
}

TEST_F(IntakeUserEventLabTest, AriChannelUsereventGenesysNotifyAsAsteriskRendersIt) {
    AriEvents ari(lab);
    ASSERT_TRUE(ari.wait_open(5s));
    web::http::client::http_client_config cfg;
    cfg.set_credentials(
        web::http::client::credentials(lab["LAB_ARI_USER"], lab["LAB_ARI_PASSWORD"]));
    cfg.set_timeout(std::chrono::seconds(5));
    web::http::client::http_client client(lab["LAB_ARI_URL"], cfg);
    nlohmann::json body = {{"variables",
                            {{"NotifyEvent", "hold"},
                             {"CallID", "ari-lab-call@127.0.0.2"},
                             {"CallUUID", "01ARILABUUID"},
                             {"DN", "1003"},
                             {"CSeq", "21"}}}};
    web::http::http_request req(web::http::methods::POST);
    req.set_request_uri("/ari/events/user/GenesysNotify?application=" + lab["LAB_ARI_APP"]);
    req.set_body(body.dump(), "application/json");
    const auto status = client.request(req).get().status_code();
    ASSERT_EQ(status, 204);

    auto ev = ari.next("ChannelUserevent", 5s);
    ASSERT_TRUE(ev) << "no ChannelUserevent within 5 s";
    std::string error;
    auto e = notify_from_ari_userevent(*ev, &error);
    ASSERT_TRUE(e) << error << "\n" << ev->dump();
    EXPECT_EQ(e->kind, NotifyKind::hold);
    EXPECT_EQ(e->call_id, "ari-lab-call@127.0.0.2");
    EXPECT_EQ(e->call_uuid, "01ARILABUUID");
    EXPECT_EQ(e->dn, "1003");
    EXPECT_EQ(e->cseq, 21u);
    EXPECT_EQ(e->source, NotifySource::ari);

    // the same NOTIFY reported through both sources acts once
    NotifyDeduplicator dedupe;
    auto again = *e;
    again.source = NotifySource::ami;
    EXPECT_TRUE(dedupe.first_seen(*e));
    EXPECT_FALSE(dedupe.first_seen(again));
}

}  // namespace
