#include "tls_sip_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <cctype>

namespace talkgate::test {

namespace asio = boost::asio;

TlsSipClient::TlsSipClient(const std::string& local_ip, const std::string& cert_file)
    : ctx_(asio::ssl::context::tls_client), stream_(io_, ctx_), local_ip_(local_ip) {
    ctx_.set_verify_mode(asio::ssl::verify_peer);
    ctx_.load_verify_file(cert_file);
}

template <class Start>
bool TlsSipClient::run(Start start, std::chrono::milliseconds deadline, const char* what) {
    bool done = false;
    boost::system::error_code result;
    start([&](const boost::system::error_code& ec, auto&&...) {
        result = ec;
        done = true;
    });
    io_.restart();
    io_.run_for(deadline);
    if (!done) {
        // cancel the pending operation and let its handler run before the locals go away
        boost::system::error_code ignored;
        stream_.lowest_layer().cancel(ignored);
        io_.restart();
        io_.run_for(std::chrono::seconds(2));
        error_ = std::string(what) + ": timed out";
        return false;
    }
    if (result) {
        error_ = std::string(what) + ": " + result.message();
        return false;
    }
    return true;
}

bool TlsSipClient::connect(const std::string& host, unsigned short port,
                           std::chrono::milliseconds deadline) {
    auto& sock = stream_.lowest_layer();
    boost::system::error_code ec;
    sock.open(asio::ip::tcp::v4(), ec);
    if (!ec) sock.bind(asio::ip::tcp::endpoint(asio::ip::make_address(local_ip_), 0), ec);
    if (ec) {
        error_ = "bind " + local_ip_ + ": " + ec.message();
        return false;
    }
    const asio::ip::tcp::endpoint remote(asio::ip::make_address(host), port);
    if (!run([&](auto h) { sock.async_connect(remote, h); }, deadline, "connect")) return false;
    return run([&](auto h) { stream_.async_handshake(asio::ssl::stream_base::client, h); },
               deadline, "TLS handshake");
}

bool TlsSipClient::send(const std::string& message, std::chrono::milliseconds deadline) {
    return run([&](auto h) { asio::async_write(stream_, asio::buffer(message), h); }, deadline,
               "send");
}

unsigned short TlsSipClient::local_port() const {
    boost::system::error_code ec;
    return stream_.lowest_layer().local_endpoint(ec).port();
}

std::optional<std::string> TlsSipClient::take_message() {
    // SIP over a stream: keep-alive CRLFs may precede a message
    while (inbox_.size() >= 2 && inbox_.compare(0, 2, "\r\n") == 0) inbox_.erase(0, 2);
    const auto end = inbox_.find("\r\n\r\n");
    if (end == std::string::npos) return std::nullopt;
    std::string lower = inbox_.substr(0, end + 2);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::size_t length = 0;
    for (const char* name : {"\ncontent-length:", "\nl:"}) {
        const auto at = lower.find(name);
        if (at != std::string::npos) {
            length = std::stoul(lower.substr(at + std::char_traits<char>::length(name)));
            break;
        }
    }
    const std::size_t total = end + 4 + length;
    if (inbox_.size() < total) return std::nullopt;
    std::string message = inbox_.substr(0, total);
    inbox_.erase(0, total);
    return message;
}

std::optional<std::string> TlsSipClient::receive(std::chrono::milliseconds deadline) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (true) {
        if (auto m = take_message()) return m;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            error_ = "receive: timed out";
            return std::nullopt;
        }
        std::array<char, 4096> buf{};
        std::size_t n = 0;
        if (!run(
                [&](auto h) {
                    stream_.async_read_some(
                        asio::buffer(buf),
                        [&n, h](const boost::system::error_code& ec, std::size_t got) mutable {
                            n = got;
                            h(ec);
                        });
                },
                left, "receive")) {
            return std::nullopt;
        }
        inbox_.append(buf.data(), n);
    }
}

}  // namespace talkgate::test
