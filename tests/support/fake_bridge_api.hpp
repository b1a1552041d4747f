#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace talkgate::test {

// A loopback stand-in for the agent desktop's bridge HTTP API (POST /answer/{dn},
// POST /genesys-call-notify), recording every request. Behaviour is adjustable at run time:
// fail the next N requests with 500, or answer slower than a client's deadline.
class FakeBridgeApi {
  public:
    struct Request {
        std::string method;
        std::string path;
        nlohmann::json body;  // null when the body was empty or not JSON
        std::chrono::steady_clock::time_point at;
    };

    // Listens on `host` (a loopback address: an agent desktop's bridge lives at the agent's
    // contact host), on a free port.
    explicit FakeBridgeApi(const std::string& host = "127.0.0.1");
    ~FakeBridgeApi();

    std::string url() const;  // http://HOST:PORT
    int port() const { return port_; }

    void fail_next(int count, int status = 500);
    void delay_replies(std::chrono::milliseconds delay);

    std::vector<Request> requests() const;
    // Waits until `count` requests whose path starts with `prefix` arrived.
    bool wait_for(const std::string& prefix, std::size_t count, std::chrono::milliseconds deadline);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    int port_ = 0;
    std::string host_;
};

// A 127.0.0.1 TCP port that was free a moment ago.
int free_loopback_port();

}  // namespace talkgate::test
