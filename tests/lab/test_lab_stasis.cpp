// The lab end to end: a sipp "Genesys" call to DN 1002 enters the from-genesys context, and a
// WebSocket opened on /ari/events for the app receives StasisStart with the DN in args.
#include "lab_env.hpp"
#include "sipp.hpp"

#include <gtest/gtest.h>
#include <boost/beast/core/detail/base64.hpp>
#include <nlohmann/json.hpp>
#include <websocketpp/client.hpp>
#include <websocketpp/config/asio_no_tls_client.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace {

using talkgate::test::LabEnv;
using talkgate::test::Sipp;
using Client = websocketpp::client<websocketpp::config::asio_client>;
using namespace std::chrono_literals;

std::string basic_auth(const std::string& user, const std::string& password) {
    std::string plain = user + ":" + password;
    std::string out(boost::beast::detail::base64::encoded_size(plain.size()), '\0');
    out.resize(boost::beast::detail::base64::encode(out.data(), plain.data(), plain.size()));
    return "Basic " + out;
}

// A bare ARI events socket: collects every event as JSON.
class EventSocket {
  public:
    explicit EventSocket(const LabEnv& lab) {
        client_.clear_access_channels(websocketpp::log::alevel::all);
        client_.clear_error_channels(websocketpp::log::elevel::all);
        client_.init_asio();
        client_.set_open_handler([this](auto) { notify([this] { open_ = true; }); });
        client_.set_fail_handler([this](auto) { notify([this] { failed_ = true; }); });
        client_.set_message_handler([this](auto, Client::message_ptr msg) {
            auto event = nlohmann::json::parse(msg->get_payload(), nullptr, false);
            notify([&] { events_.push_back(std::move(event)); });
        });
        websocketpp::lib::error_code ec;
        auto con = client_.get_connection(
            "ws://127.0.0.1:" + lab["LAB_HTTP_PORT"] + "/ari/events?app=" + lab["LAB_ARI_APP"], ec);
        if (ec) throw std::runtime_error("bad ARI events URL: " + ec.message());
        con->append_header("Authorization",
                           basic_auth(lab["LAB_ARI_USER"], lab["LAB_ARI_PASSWORD"]));
        hdl_ = con->get_handle();
        client_.connect(con);
        thread_ = std::thread([this] { client_.run(); });
    }
    ~EventSocket() {
        websocketpp::lib::error_code ec;
        client_.close(hdl_, websocketpp::close::status::normal, "test done", ec);
        client_.stop();
        thread_.join();
    }

    bool wait_open(std::chrono::milliseconds deadline) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, deadline, [this] { return open_ || failed_; }) && open_;
    }

    // The first event of `type` (earlier events of other types are dropped).
    std::optional<nlohmann::json> next(const std::string& type,
                                       std::chrono::milliseconds deadline) {
        std::unique_lock lock(mu_);
        const auto until = std::chrono::steady_clock::now() + deadline;
        while (true) {
            while (!events_.empty()) {
                auto e = std::move(events_.front());
                events_.pop_front();
                if (e.is_object() && e.value("type", "") == type) return e;
            }
            if (cv_.wait_until(lock, until) == std::cv_status::timeout && events_.empty())
                return std::nullopt;
        }
    }

  private:
    template <class F>
    void notify(F&& f) {
        {
            std::lock_guard lock(mu_);
            f();
        }
        cv_.notify_all();
    }

    Client client_;
    websocketpp::connection_hdl hdl_;
    std::thread thread_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<nlohmann::json> events_;
    bool open_ = false;
    bool failed_ = false;
};

Sipp::Options genesys_call(const std::string& dn, const std::string& uuid,
                           std::chrono::seconds timeout) {
    Sipp::Options o;
    o.scenario = "genesys_notify_talk.xml";
    o.local_ip = LabEnv::get()["LAB_GENESYS_IP"];
    o.service = dn;
    o.timeout = timeout;
    o.extra = {"-set", "uuid", uuid};
    return o;
}

class LabTest : public ::testing::Test {
  protected:
    void TearDown() override { lab.reset(); }
    const LabEnv& lab = LabEnv::get();
};

TEST_F(LabTest, GenesysCallEntersStasisWithDnCallIdAndCallUuid) {
    EventSocket events(lab);
    ASSERT_TRUE(events.wait_open(5s)) << "ARI events WebSocket did not open";

    const std::string uuid = "UIVB8J6JE91C53UIM3VI59VHQ4LAB001";
    Sipp genesys(lab, genesys_call("1002", uuid, 20s));

    auto start = events.next("StasisStart", 10s);
    ASSERT_TRUE(start) << "no StasisStart within 10 s\n" << genesys.output();
    const auto& args = (*start)["args"];
    ASSERT_GE(args.size(), 3u) << start->dump();
    EXPECT_EQ(args[0], "1002");
    EXPECT_EQ(args[1], (*start)["channel"]["protocol_id"]) << "args[1] is the SIP Call-ID";
    EXPECT_EQ(args[2], uuid);
    EXPECT_EQ((*start)["channel"]["dialplan"]["context"], "from-genesys");
    EXPECT_EQ((*start)["application"], lab["LAB_ARI_APP"]);
}

TEST_F(LabTest, CallIsRejectedWhenNoAppIsConnected) {
    const auto log_offset = lab.log_size();
    Sipp genesys(lab, genesys_call("1002", "NOAPP", 10s));
    // The dialplan rejects at once (STASISSTATUS=FAILED): sipp sees a final error, not a hang.
    auto code = genesys.wait(8s);
    ASSERT_TRUE(code) << "Genesys got no final answer within 8 s\n" << genesys.output();
    EXPECT_NE(*code, 0);
    EXPECT_NE(lab.log_since(log_offset).find("not connected: rejecting call to 1002"),
              std::string::npos);
}

}  // namespace
