#pragma once

#include "ami/frame_parser.hpp"
#include "ami/message.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace talkgate::test {

// One accepted client connection of a FakeAmiServer, driven step by step by the test thread.
class FakeAmiConnection {
  public:
    explicit FakeAmiConnection(int fd);
    ~FakeAmiConnection();
    FakeAmiConnection(const FakeAmiConnection&) = delete;
    FakeAmiConnection& operator=(const FakeAmiConnection&) = delete;

    // Writes all of `bytes`; false if the peer is gone.
    bool send(std::string_view bytes);
    // Writes one byte per write() call (TCP_NODELAY), so the client sees many partial reads.
    bool send_bytewise(std::string_view bytes);
    // The next frame the client sent, or nullopt after `deadline` or when it closed.
    std::optional<ami::Message> read_frame(std::chrono::milliseconds deadline);
    // True when the client closed the connection within `deadline` (data read meanwhile is
    // parsed and kept for read_frame).
    bool wait_closed(std::chrono::milliseconds deadline);
    // Banner, then reads Login and answers Success; returns the Login frame.
    std::optional<ami::Message> accept_login(std::chrono::milliseconds deadline);
    // Answers `request` (its ActionID echoed) with `fields`.
    bool reply(const ami::Message& request, const std::string& fields);
    void close();

  private:
    // Reads once (up to `deadline`) into the parser; false on timeout or close.
    bool read_some(std::chrono::milliseconds deadline);

    int fd_ = -1;
    bool peer_closed_ = false;
    ami::FrameParser parser_{1 << 20};
    std::vector<ami::Message> frames_;
};

// A scripted AMI server on 127.0.0.1 with a random free port.
class FakeAmiServer {
  public:
    FakeAmiServer();
    ~FakeAmiServer();
    FakeAmiServer(const FakeAmiServer&) = delete;
    FakeAmiServer& operator=(const FakeAmiServer&) = delete;

    std::uint16_t port() const { return port_; }
    // The next client connection, or nullptr after `deadline`.
    std::unique_ptr<FakeAmiConnection> accept(std::chrono::milliseconds deadline);

  private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

inline constexpr std::string_view kBanner = "Asterisk Call Manager/11.0.0\r\n";

}  // namespace talkgate::test
