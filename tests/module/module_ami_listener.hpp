#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace talkgate::test {

class LabEnv;

// One AMI message as sent: keys may repeat, so a list of pairs, not a map.
using AmiMessage = std::vector<std::pair<std::string, std::string>>;

// The first value of `key` in `message`, empty when absent.
std::string ami_value(const AmiMessage& message, const std::string& key);

// A raw AMI TCP session on the lab: logs in (user events only) and records every message it
// receives, on its own reader thread, until destroyed.
class AmiListener {
  public:
    using Predicate = std::function<bool(const AmiMessage&)>;

    // Connects and logs in; throws when either fails within 5 s.
    explicit AmiListener(const LabEnv& lab);
    ~AmiListener();
    AmiListener(const AmiListener&) = delete;
    AmiListener& operator=(const AmiListener&) = delete;

    // The first recorded message matching `pred`, waiting up to `deadline` for it.
    std::optional<AmiMessage> wait_for(const Predicate& pred, std::chrono::milliseconds deadline);
    // How many recorded messages match `pred` now.
    std::size_t count(const Predicate& pred);

  private:
    void shutdown();
    void read_loop();
    void parse(const std::string& chunk);

    int fd_ = -1;
    bool stop_ = false;                 // guarded by mu_; tells the reader to finish
    std::string pending_;               // bytes read but not yet a full line
    AmiMessage current_;                // the message being assembled
    std::vector<AmiMessage> messages_;  // every complete message, in arrival order
    std::mutex mu_;
    std::condition_variable cv_;
    std::thread reader_;
};

}  // namespace talkgate::test
