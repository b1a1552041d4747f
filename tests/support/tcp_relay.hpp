#pragma once
// A loopback TCP relay in front of a real peer (the lab's AMI), so a test can take the peer
// away and bring it back on the same port: close() drops every relayed connection and stops
// listening, open(port) listens again.
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <sys/socket.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace talkgate::test {

class TcpRelay {
  public:
    using tcp = boost::asio::ip::tcp;

    TcpRelay(std::string upstream_host, int upstream_port)
        : upstream_(boost::asio::ip::make_address(upstream_host),
                    static_cast<unsigned short>(upstream_port)) {}
    ~TcpRelay() { close(); }
    TcpRelay(const TcpRelay&) = delete;
    TcpRelay& operator=(const TcpRelay&) = delete;

    // Listens on 127.0.0.1:port (0: any free port); returns the port.
    int open(int port = 0) {
        close();
        acceptor_ = std::make_unique<tcp::acceptor>(io_);
        const tcp::endpoint at(boost::asio::ip::make_address("127.0.0.1"),
                               static_cast<unsigned short>(port));
        acceptor_->open(at.protocol());
        acceptor_->set_option(tcp::acceptor::reuse_address(true));
        acceptor_->bind(at);
        acceptor_->listen();
        stopping_ = false;
        accept_thread_ = std::thread([this] { accept_loop(); });
        return acceptor_->local_endpoint().port();
    }

    // Stops listening and drops every relayed connection, as a peer that went away.
    void close() {
        if (!acceptor_) return;
        stopping_ = true;
        ::shutdown(acceptor_->native_handle(), SHUT_RDWR);
        accept_thread_.join();
        {
            std::lock_guard lock(mu_);
            for (auto& s : sockets_) ::shutdown(s->native_handle(), SHUT_RDWR);
        }
        for (auto& t : pumps_) t.join();
        pumps_.clear();
        sockets_.clear();
        acceptor_.reset();
    }

  private:
    void accept_loop() {
        for (int i = 0; i < 1000 && !stopping_; ++i) {
            auto client = std::make_shared<tcp::socket>(io_);
            boost::system::error_code ec;
            acceptor_->accept(*client, ec);
            if (ec || stopping_) return;
            auto server = std::make_shared<tcp::socket>(io_);
            server->connect(upstream_, ec);
            if (ec) continue;
            {
                std::lock_guard lock(mu_);
                sockets_.push_back(client);
                sockets_.push_back(server);
            }
            pumps_.emplace_back([client, server] { pump(*client, *server); });
            pumps_.emplace_back([client, server] { pump(*server, *client); });
        }
    }

    // Copies one direction until either side closes, then closes both.
    static void pump(tcp::socket& from, tcp::socket& to) {
        char buf[8192];
        boost::system::error_code ec;
        while (!ec) {
            const std::size_t n = from.read_some(boost::asio::buffer(buf), ec);
            if (!ec) boost::asio::write(to, boost::asio::buffer(buf, n), ec);
        }
        ::shutdown(from.native_handle(), SHUT_RDWR);
        ::shutdown(to.native_handle(), SHUT_RDWR);
    }

    tcp::endpoint upstream_;
    boost::asio::io_context io_;
    std::unique_ptr<tcp::acceptor> acceptor_;
    std::thread accept_thread_;
    std::vector<std::thread> pumps_;  // accept thread only while open; joined in close()
    std::mutex mu_;
    std::vector<std::shared_ptr<tcp::socket>> sockets_;
    std::atomic<bool> stopping_{false};
};

}  // namespace talkgate::test
