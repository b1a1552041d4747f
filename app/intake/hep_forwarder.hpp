#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace talkgate::intake {

// What became of one datagram for one target (label `outcome`).
enum class ForwardOutcome { sent, dropped, error };
const char* to_string(ForwardOutcome outcome);

struct HepForwardSettings {
    std::vector<boost::asio::ip::udp::endpoint> targets;  // HEP_FORWARD
    // Datagrams waiting per target; past it new ones are dropped (and counted), never waited for.
    std::size_t queue_limit = 256;
    // Told of each datagram's fate per target (index into `targets`), on the io thread.
    std::function<void(std::size_t target, ForwardOutcome)> on_outcome;
};

// Passes HEP datagrams on unchanged to other collectors (Homer's heplify-server, ...), since
// Asterisk sends its HEP copy to one address only. One UDP socket per target, one send in
// flight per target and a bounded queue behind it: forward() copies and returns, so a slow or
// dead collector costs the listener nothing but the copy. On the io_context's thread only.
class HepForwarder : public std::enable_shared_from_this<HepForwarder> {
  public:
    HepForwarder(boost::asio::io_context& io, HepForwardSettings settings);

    // Opens one socket per target, connected so an unreachable target reports ICMP errors.
    boost::system::error_code open();
    void forward(std::string_view datagram);
    void close();

  private:
    struct Target {
        explicit Target(boost::asio::io_context& io) : socket(io) {}
        boost::asio::ip::udp::socket socket;
        std::deque<std::shared_ptr<const std::string>> queue;  // front() is in flight
    };
    void send_front(std::size_t i);
    void outcome(std::size_t i, ForwardOutcome o);

    boost::asio::io_context& io_;
    HepForwardSettings settings_;
    std::vector<std::unique_ptr<Target>> targets_;
    bool closed_ = false;
};

}  // namespace talkgate::intake
