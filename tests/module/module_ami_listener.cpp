#include "module_ami_listener.hpp"

#include "lab_env.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <stdexcept>

namespace talkgate::test {

std::string ami_value(const AmiMessage& message, const std::string& key) {
    for (const auto& [k, v] : message) {
        if (k == key) return v;
    }
    return {};
}

AmiListener::AmiListener(const LabEnv& lab) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("AMI: socket() failed");
    // A short receive timeout lets the reader notice stop_ without a second wake-up channel.
    timeval tv{};
    tv.tv_usec = 200 * 1000;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(lab.port("LAB_AMI_PORT")));
    ::inet_pton(AF_INET, lab["LAB_AMI_HOST"].c_str(), &addr.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        ::close(fd_);
        throw std::runtime_error("AMI: cannot connect to port " + lab["LAB_AMI_PORT"]);
    }
    reader_ = std::thread([this] { read_loop(); });

    const std::string login =
        "Action: Login\r\nActionID: module-test-login\r\nUsername: " + lab["LAB_AMI_USER"] +
        "\r\nSecret: " + lab["LAB_AMI_SECRET"] + "\r\nEvents: user\r\n\r\n";
    std::string error;
    if (::send(fd_, login.data(), login.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(login.size())) {
        error = "cannot send Login";
    } else {
        auto reply = wait_for(
            [](const AmiMessage& m) { return ami_value(m, "ActionID") == "module-test-login"; },
            std::chrono::seconds(5));
        if (!reply)
            error = "no reply to Login in 5 s";
        else if (ami_value(*reply, "Response") != "Success")
            error = "login refused: " + ami_value(*reply, "Message");
    }
    if (!error.empty()) {
        shutdown();  // the destructor does not run for a throwing constructor
        throw std::runtime_error("AMI: " + error);
    }
}

AmiListener::~AmiListener() {
    shutdown();
}

void AmiListener::shutdown() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    if (reader_.joinable()) reader_.join();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

void AmiListener::read_loop() {
    char buf[4096];
    while (true) {
        {
            std::lock_guard lock(mu_);
            if (stop_) return;
        }
        ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
        if (n == 0) return;   // Asterisk closed the session
        if (n < 0) continue;  // receive timeout: look at stop_ again
        parse(std::string(buf, static_cast<std::size_t>(n)));
    }
}

void AmiListener::parse(const std::string& chunk) {
    pending_ += chunk;
    std::size_t pos = 0;
    bool added = false;
    std::unique_lock lock(mu_);
    while (true) {
        auto eol = pending_.find("\r\n", pos);
        if (eol == std::string::npos) break;
        std::string line = pending_.substr(pos, eol - pos);
        pos = eol + 2;
        if (line.empty()) {
            if (!current_.empty()) {
                messages_.push_back(std::move(current_));
                current_.clear();
                added = true;
            }
            continue;
        }
        auto colon = line.find(": ");
        // The banner line has no "key: value" form and no blank line after it.
        if (colon == std::string::npos) continue;
        current_.emplace_back(line.substr(0, colon), line.substr(colon + 2));
    }
    pending_.erase(0, pos);
    lock.unlock();
    if (added) cv_.notify_all();
}

std::optional<AmiMessage> AmiListener::wait_for(const Predicate& pred,
                                                std::chrono::milliseconds deadline) {
    std::unique_lock lock(mu_);
    std::optional<AmiMessage> found;
    cv_.wait_for(lock, deadline, [&] {
        for (const auto& m : messages_) {
            if (pred(m)) {
                found = m;
                return true;
            }
        }
        return false;
    });
    return found;
}

std::size_t AmiListener::count(const Predicate& pred) {
    std::lock_guard lock(mu_);
    std::size_t n = 0;
    for (const auto& m : messages_) n += pred(m) ? 1 : 0;
    return n;
}

}  // namespace talkgate::test
