#pragma once

// ARI helpers for lab tests: an events WebSocket for the lab's app (so that
// Stasis() accepts calls and user events reach the test) and the REST calls the tests need.
#include "lab_env.hpp"

#include <cpprest/http_client.h>
#include <boost/beast/core/detail/base64.hpp>
#include <nlohmann/json.hpp>
#include <websocketpp/client.hpp>
#include <websocketpp/config/asio_no_tls_client.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace talkgate::test {

using namespace std::chrono_literals;

inline std::string basic_auth(const std::string& user, const std::string& password) {
    std::string plain = user + ":" + password;
    std::string out(boost::beast::detail::base64::encoded_size(plain.size()), '\0');
    out.resize(boost::beast::detail::base64::encode(out.data(), plain.data(), plain.size()));
    return "Basic " + out;
}

// A bare ARI events socket for the lab's app, so that Stasis() accepts the Genesys call.
class AriEvents {
  public:
    using WsClient = websocketpp::client<websocketpp::config::asio_client>;

    explicit AriEvents(const LabEnv& lab) {
        client_.clear_access_channels(websocketpp::log::alevel::all);
        client_.clear_error_channels(websocketpp::log::elevel::all);
        client_.init_asio();
        client_.set_open_handler([this](auto) { notify([this] { open_ = true; }); });
        client_.set_fail_handler([this](auto) { notify([this] { failed_ = true; }); });
        client_.set_close_handler([this](auto) { notify([this] { closed_ = true; }); });
        client_.set_message_handler([this](auto, WsClient::message_ptr msg) {
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
    ~AriEvents() {
        websocketpp::lib::error_code ec;
        client_.close(hdl_, websocketpp::close::status::normal, "test done", ec);
        {
            // finish the close handshake, so Asterisk does not log an abrupt close
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait_for(lock, 2s, [this] { return closed_ || failed_ || !open_; });
        }
        client_.stop();
        thread_.join();
    }

    bool wait_open(std::chrono::milliseconds deadline) {
        std::unique_lock<std::mutex> lock(mu_);
        return cv_.wait_for(lock, deadline, [this] { return open_ || failed_; }) && open_;
    }

    std::optional<nlohmann::json> next(const std::string& type,
                                       std::chrono::milliseconds deadline) {
        std::unique_lock<std::mutex> lock(mu_);
        const auto until = std::chrono::steady_clock::now() + deadline;
        while (true) {
            while (!events_.empty()) {
                auto e = std::move(events_.front());
                events_.pop_front();
                if (e.is_object() && e.value("type", "") == type) return e;
            }
            if (cv_.wait_until(lock, until) == std::cv_status::timeout && events_.empty()) {
                return std::nullopt;
            }
        }
    }

  private:
    template <class F>
    void notify(F&& f) {
        {
            std::lock_guard<std::mutex> lock(mu_);
            f();
        }
        cv_.notify_all();
    }

    WsClient client_;
    websocketpp::connection_hdl hdl_;
    std::thread thread_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<nlohmann::json> events_;
    bool open_ = false;
    bool failed_ = false;
    bool closed_ = false;
};

// POST /ari/channels/{id}/ring: Asterisk sends 180 to Genesys, which opens the early dialog.
inline int ring(const LabEnv& lab, const std::string& channel_id) {
    web::http::client::http_client_config cfg;
    cfg.set_credentials(
        web::http::client::credentials(lab["LAB_ARI_USER"], lab["LAB_ARI_PASSWORD"]));
    cfg.set_timeout(std::chrono::seconds(5));
    web::http::client::http_client client(lab["LAB_ARI_URL"], cfg);
    return client.request(web::http::methods::POST, "/ari/channels/" + channel_id + "/ring")
        .get()
        .status_code();
}

}  // namespace talkgate::test
