#pragma once
// A loopback TCP relay in front of a real peer (the lab's AMI or ARI), so a test can take the
// peer away and bring it back on the same port: close() drops every relayed connection and stops
// listening, open(port) listens again. It also records the HTTP request lines the client sent
// ("POST /ari/channels/create"), so a test can count a client's requests to the real peer.
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <sys/socket.h>

#include <atomic>
#include <cstring>
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

    // "METHOD /path" (query left out) of every HTTP request the relay's clients sent, in order.
    std::vector<std::string> http_requests() const {
        std::lock_guard lock(mu_);
        return requests_;
    }

  private:
    // Records a request line: "METHOD /path[?query] HTTP/1.1". A request after one with a
    // body (JSON, no trailing newline) starts on the body's line, so it is searched for.
    void record(const std::string& line) {
        static const char* const methods[] = {"GET ", "POST ", "PUT ", "DELETE "};
        if (line.find(" HTTP/1.1") == std::string::npos) return;
        for (const char* m : methods) {
            const auto at = line.find(std::string(m) + "/");
            if (at == std::string::npos) continue;
            const auto path_end = line.find_first_of("? ", at + std::strlen(m));
            std::lock_guard lock(mu_);
            requests_.push_back(line.substr(at, path_end - at));
            return;
        }
    }

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
            pumps_.emplace_back([this, client, server] { pump(*client, *server, this); });
            pumps_.emplace_back([client, server] { pump(*server, *client, nullptr); });
        }
    }

    // Copies one direction until either side closes, then closes both; the client's direction
    // (recorder set) is scanned for HTTP request lines.
    static void pump(tcp::socket& from, tcp::socket& to, TcpRelay* recorder) {
        char buf[8192];
        std::string line;  // the client's current line, bounded: WebSocket frames have no \n
        boost::system::error_code ec;
        while (!ec) {
            const std::size_t n = from.read_some(boost::asio::buffer(buf), ec);
            if (ec) break;
            if (recorder) {
                for (std::size_t i = 0; i < n; ++i) {
                    if (buf[i] != '\n') {
                        if (line.size() < 4096) line += buf[i];
                        continue;
                    }
                    recorder->record(line);
                    line.clear();
                }
            }
            boost::asio::write(to, boost::asio::buffer(buf, n), ec);
        }
        ::shutdown(from.native_handle(), SHUT_RDWR);
        ::shutdown(to.native_handle(), SHUT_RDWR);
    }

    tcp::endpoint upstream_;
    boost::asio::io_context io_;
    std::unique_ptr<tcp::acceptor> acceptor_;
    std::thread accept_thread_;
    std::vector<std::thread> pumps_;  // accept thread only while open; joined in close()
    mutable std::mutex mu_;           // guards sockets_ and requests_
    std::vector<std::shared_ptr<tcp::socket>> sockets_;
    std::vector<std::string> requests_;
    std::atomic<bool> stopping_{false};
};

}  // namespace talkgate::test
