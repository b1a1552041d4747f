#include "module_ari_app.hpp"

#include "lab_env.hpp"

#include <cpprest/http_client.h>
#include <boost/beast/core/detail/base64.hpp>
#include <websocketpp/client.hpp>
#include <websocketpp/config/asio_no_tls_client.hpp>

#include <stdexcept>

namespace talkgate::test {

namespace {

using Client = websocketpp::client<websocketpp::config::asio_client>;

std::string basic_auth(const std::string& user, const std::string& password) {
    std::string plain = user + ":" + password;
    std::string out(boost::beast::detail::base64::encoded_size(plain.size()), '\0');
    out.resize(boost::beast::detail::base64::encode(out.data(), plain.data(), plain.size()));
    return "Basic " + out;
}

}  // namespace

struct AriApp::Socket {
    Client client;
    websocketpp::connection_hdl hdl;
    std::thread thread;
};

AriApp::AriApp(const LabEnv& lab)
    : socket_(std::make_unique<Socket>()),
      base_url_("http://127.0.0.1:" + lab["LAB_HTTP_PORT"] + "/ari"),
      user_(lab["LAB_ARI_USER"]),
      password_(lab["LAB_ARI_PASSWORD"]) {
    auto& client = socket_->client;
    client.clear_access_channels(websocketpp::log::alevel::all);
    client.clear_error_channels(websocketpp::log::elevel::all);
    client.init_asio();
    auto with_lock = [this](auto&& f) {
        {
            std::lock_guard lock(mu_);
            f();
        }
        cv_.notify_all();
    };
    client.set_open_handler([this, with_lock](auto) { with_lock([this] { open_ = true; }); });
    client.set_fail_handler([this, with_lock](auto) { with_lock([this] { failed_ = true; }); });
    client.set_message_handler([this, with_lock](auto, Client::message_ptr msg) {
        auto event = nlohmann::json::parse(msg->get_payload(), nullptr, false);
        with_lock([&] { events_.push_back(std::move(event)); });
    });
    websocketpp::lib::error_code ec;
    auto con = client.get_connection(
        "ws://127.0.0.1:" + lab["LAB_HTTP_PORT"] + "/ari/events?app=" + lab["LAB_ARI_APP"], ec);
    if (ec) throw std::runtime_error("bad ARI events URL: " + ec.message());
    con->append_header("Authorization", basic_auth(user_, password_));
    socket_->hdl = con->get_handle();
    client.connect(con);
    socket_->thread = std::thread([this] { socket_->client.run(); });

    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::seconds(5), [this] { return open_ || failed_; }) ||
        !open_) {
        lock.unlock();
        socket_->client.stop();
        socket_->thread.join();
        throw std::runtime_error("ARI events WebSocket did not open within 5 s");
    }
}

AriApp::~AriApp() {
    websocketpp::lib::error_code ec;
    socket_->client.close(socket_->hdl, websocketpp::close::status::normal, "test done", ec);
    socket_->client.stop();
    socket_->thread.join();
}

std::optional<nlohmann::json> AriApp::wait_for(const Predicate& pred,
                                               std::chrono::milliseconds deadline) {
    std::unique_lock lock(mu_);
    std::optional<nlohmann::json> found;
    cv_.wait_for(lock, deadline, [&] {
        for (const auto& e : events_) {
            if (e.is_object() && pred(e)) {
                found = e;
                return true;
            }
        }
        return false;
    });
    return found;
}

std::size_t AriApp::count(const Predicate& pred) {
    std::lock_guard lock(mu_);
    std::size_t n = 0;
    for (const auto& e : events_) n += (e.is_object() && pred(e)) ? 1 : 0;
    return n;
}

int AriApp::post(const std::string& path) {
    web::http::client::http_client_config config;
    config.set_credentials(web::credentials(user_, password_));
    config.set_timeout(std::chrono::seconds(5));
    try {
        web::http::client::http_client client(base_url_, config);
        return client.request(web::http::methods::POST, path).get().status_code();
    } catch (const std::exception&) {
        return 0;  // no answer (timeout, refused): the caller's assertion reports it
    }
}

}  // namespace talkgate::test
