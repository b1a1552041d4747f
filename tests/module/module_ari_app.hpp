#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace talkgate::test {

class LabEnv;

// The lab's Stasis app as a test drives it: the events WebSocket (every event recorded, on
// websocketpp's own thread) and synchronous REST calls with a deadline.
class AriApp {
  public:
    using Predicate = std::function<bool(const nlohmann::json&)>;

    // Opens /ari/events for LAB_ARI_APP; throws when it is not open within 5 s.
    explicit AriApp(const LabEnv& lab);
    ~AriApp();
    AriApp(const AriApp&) = delete;
    AriApp& operator=(const AriApp&) = delete;

    // The first recorded event matching `pred`, waiting up to `deadline` for it.
    std::optional<nlohmann::json> wait_for(const Predicate& pred,
                                           std::chrono::milliseconds deadline);
    std::size_t count(const Predicate& pred);

    // POST /ari + `path` (with its query); the HTTP status, 0 when no answer within 5 s.
    int post(const std::string& path);

  private:
    struct Socket;
    std::unique_ptr<Socket> socket_;  // websocketpp client, kept out of this header
    std::string base_url_;            // http://127.0.0.1:PORT/ari
    std::string user_;
    std::string password_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<nlohmann::json> events_;  // every event, in arrival order
    bool open_ = false;
    bool failed_ = false;
};

}  // namespace talkgate::test
