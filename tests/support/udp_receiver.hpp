#pragma once

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace talkgate::test {

// A UDP socket on 127.0.0.1 that collects datagrams: a loopback stand-in for a HEP collector.
class UdpReceiver {
  public:
    UdpReceiver() : socket_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
        timeval tv{0, 200 * 1000};  // each receive waits at most 200 ms
        setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    boost::asio::ip::udp::endpoint endpoint() const { return socket_.local_endpoint(); }

    // Receives until `count` datagrams arrived in all or `within` passed; returns all so far.
    const std::vector<std::string>& receive(std::size_t count, std::chrono::milliseconds within) {
        const auto deadline = std::chrono::steady_clock::now() + within;
        while (received_.size() < count && std::chrono::steady_clock::now() < deadline) {
            char buffer[65536];
            const auto n = ::recv(socket_.native_handle(), buffer, sizeof buffer, 0);
            if (n > 0) received_.emplace_back(buffer, static_cast<std::size_t>(n));
        }
        return received_;
    }

  private:
    boost::asio::io_context io_;
    boost::asio::ip::udp::socket socket_;
    std::vector<std::string> received_;
};

// A loopback UDP port where nothing listens (bound, then closed): sends to it get ICMP
// port unreachable.
inline unsigned short dead_udp_port() {
    boost::asio::io_context io;
    boost::asio::ip::udp::socket s(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return s.local_endpoint().port();
}

}  // namespace talkgate::test
