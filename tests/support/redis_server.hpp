#pragma once

#include <sys/types.h>

#include <string>

namespace talkgate::test {

// A real redis-server on 127.0.0.1 for one test: a free port (or `port`), a generated
// password, no persistence (a restart comes back empty, as after a crash without AOF), its
// files in a private directory. The destructor kills it.
class RedisServer {
  public:
    explicit RedisServer(int port = 0);
    ~RedisServer();
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

    // Starts redis-server and waits (bounded) until it answers; false when it did not.
    bool start();
    void kill();  // SIGKILL, as a crash
    bool running() const { return pid_ > 0; }

    int port() const { return port_; }
    const std::string& password() const { return password_; }
    std::string url() const;  // redis://:password@127.0.0.1:port
    // One command through redis-cli (bounded); its output without the trailing newline.
    std::string cli(const std::string& args) const;
    std::string log() const;

  private:
    int port_;
    std::string password_;
    std::string dir_;
    pid_t pid_ = -1;
};

}  // namespace talkgate::test
