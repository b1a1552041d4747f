#pragma once
// A loopback TCP server on a random free port that runs a scripted session per connection
// (blocking Beast I/O, one thread each): the fake ARI peer for what Asterisk won't do on demand.
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ari_test {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

class FakeServer {
  public:
    using Session = std::function<void(tcp::socket&)>;

    explicit FakeServer(Session session)
        : session_(std::move(session)),
          acceptor_(io_, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
        thread_ = std::thread([this] { accept_loop(); });
    }
    ~FakeServer() { close(); }

    // Stops accepting and drops every connection (unblocks the sessions).
    void close() {
        if (stopping_.exchange(true)) return;
        ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
        thread_.join();
        {
            std::lock_guard lock(mu_);
            for (int fd : connection_fds_)
                if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
        }
        for (auto& t : sessions_) t.join();
        for (int fd : connection_fds_)
            if (fd >= 0) ::close(fd);
    }

    int port() const { return acceptor_.local_endpoint().port(); }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port()); }
    int accepted() const { return accepted_; }

  private:
    void accept_loop() {
        while (!stopping_) {
            auto sock = std::make_shared<tcp::socket>(io_);
            boost::system::error_code ec;
            acceptor_.accept(*sock, ec);
            if (ec || stopping_) return;
            ++accepted_;
            std::size_t index = 0;
            {
                std::lock_guard lock(mu_);
                index = connection_fds_.size();
                connection_fds_.push_back(::dup(sock->native_handle()));
            }
            sessions_.emplace_back([this, sock, index] {
                try {
                    session_(*sock);
                } catch (const std::exception&) {
                    // the client went away: the session ends
                }
                // A session that ended closes its connection, as a real peer does; the
                // duplicate would keep it open.
                boost::system::error_code ignored;
                sock->close(ignored);
                std::lock_guard lock(mu_);
                ::close(connection_fds_[index]);
                connection_fds_[index] = -1;
            });
        }
    }

    Session session_;
    boost::asio::io_context io_;
    tcp::acceptor acceptor_;
    std::thread thread_;
    std::vector<std::thread> sessions_;  // accept thread only, joined in close()
    std::mutex mu_;
    // Duplicates of each connection's descriptor: close() shuts the connection down even after
    // its session closed the socket, without racing the session for the socket object (TSan).
    std::vector<int> connection_fds_;
    std::atomic<bool> stopping_{false};
    std::atomic<int> accepted_{0};
};

}  // namespace ari_test
