#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace talkgate::test {

// A minimal SIP-over-TLS peer for the lab (Debian's sipp has no TLS): one connection from a
// chosen local address, whole messages out, whole messages in, every step with a deadline.
// It verifies Asterisk's certificate against the lab's self-signed one.
class TlsSipClient {
  public:
    TlsSipClient(const std::string& local_ip, const std::string& cert_file);

    // Connects and completes the TLS handshake; false (with error()) on failure or timeout.
    bool connect(const std::string& host, unsigned short port, std::chrono::milliseconds deadline);
    bool send(const std::string& message, std::chrono::milliseconds deadline);
    // The next complete SIP message (headers and Content-Length body); nullopt on timeout.
    std::optional<std::string> receive(std::chrono::milliseconds deadline);
    // The local port of the connection (the SIP source port Asterisk and HEP see).
    unsigned short local_port() const;
    const std::string& error() const { return error_; }

  private:
    template <class Start>
    bool run(Start start, std::chrono::milliseconds deadline, const char* what);
    std::optional<std::string> take_message();

    boost::asio::io_context io_;
    boost::asio::ssl::context ctx_;
    boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream_;
    std::string local_ip_;
    std::string inbox_;  // bytes read past the last complete message
    std::string error_;
};

}  // namespace talkgate::test
