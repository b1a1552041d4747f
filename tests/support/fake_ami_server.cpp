#include "fake_ami_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cerrno>
#include <stdexcept>

namespace talkgate::test {

namespace {

bool wait_readable(int fd, std::chrono::milliseconds deadline) {
    pollfd p{fd, POLLIN, 0};
    int rc = 0;
    do {
        rc = ::poll(&p, 1, static_cast<int>(deadline.count()));
    } while (rc < 0 && errno == EINTR);
    return rc > 0;
}

}  // namespace

FakeAmiConnection::FakeAmiConnection(int fd) : fd_(fd) {
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // The client sends no banner: give the parser one so the first frame is read as a frame.
    ami::ParseOutput ignored;
    parser_.feed("client\r\n", ignored);
}

FakeAmiConnection::~FakeAmiConnection() {
    close();
}

void FakeAmiConnection::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

bool FakeAmiConnection::send(std::string_view bytes) {
    while (!bytes.empty()) {
        if (fd_ < 0) return false;
        ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

bool FakeAmiConnection::send_bytewise(std::string_view bytes) {
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        if (!send(bytes.substr(i, 1))) return false;
    }
    return true;
}

bool FakeAmiConnection::read_some(std::chrono::milliseconds deadline) {
    if (fd_ < 0 || peer_closed_ || !wait_readable(fd_, deadline)) return false;
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
        peer_closed_ = true;
        return false;
    }
    ami::ParseOutput out;
    parser_.feed(std::string_view(buf, static_cast<std::size_t>(n)), out);
    for (auto& m : out.messages) frames_.push_back(std::move(m));
    return true;
}

std::optional<ami::Message> FakeAmiConnection::read_frame(std::chrono::milliseconds deadline) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (frames_.empty()) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
        if (left.count() <= 0 || !read_some(left)) {
            if (frames_.empty()) return std::nullopt;
        }
    }
    auto m = std::move(frames_.front());
    frames_.erase(frames_.begin());
    return m;
}

bool FakeAmiConnection::wait_closed(std::chrono::milliseconds deadline) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (!peer_closed_) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        read_some(left);
    }
    return true;
}

std::optional<ami::Message> FakeAmiConnection::accept_login(std::chrono::milliseconds deadline) {
    if (!send(kBanner)) return std::nullopt;
    auto login = read_frame(deadline);
    if (!login || login->get_or("Action", "") != "Login") return std::nullopt;
    if (!reply(*login, "Response: Success\r\nMessage: Authentication accepted\r\n")) {
        return std::nullopt;
    }
    return login;
}

bool FakeAmiConnection::reply(const ami::Message& request, const std::string& fields) {
    return send(fields + "ActionID: " + request.get_or("ActionID", "") + "\r\n\r\n");
}

FakeAmiServer::FakeAmiServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("fake AMI server: socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 8) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ::close(fd_);
        throw std::runtime_error("fake AMI server: cannot listen on 127.0.0.1");
    }
    port_ = ntohs(addr.sin_port);
}

FakeAmiServer::~FakeAmiServer() {
    if (fd_ >= 0) ::close(fd_);
}

std::unique_ptr<FakeAmiConnection> FakeAmiServer::accept(std::chrono::milliseconds deadline) {
    if (!wait_readable(fd_, deadline)) return nullptr;
    int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return nullptr;
    return std::make_unique<FakeAmiConnection>(c);
}

}  // namespace talkgate::test
