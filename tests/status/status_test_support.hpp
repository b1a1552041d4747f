#pragma once

#include "status/status_source.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace talkgate::test {

// A free TCP port on 127.0.0.1 (bound then released; the race with other processes is small).
unsigned short free_loopback_port();

// One HTTP exchange, over a real socket.
struct HttpReply {
    int status = 0;
    std::string content_type;
    std::string body;
    std::map<std::string, std::string> headers;
};
HttpReply http_request(const std::string& base_url, const std::string& method,
                       const std::string& path, const std::string& token = {},
                       const std::string& body = {}, const std::string& authorization = {});

// A StatusSource the test scripts: what calls() returns, how it answers, and when.
class FakeSource : public status::StatusSource {
  public:
    enum class Mode { inline_reply, other_thread, never, throwing };  // throwing: every call throws

    ~FakeSource() override;

    void calls(std::function<void(std::vector<status::CallView>)> done) override;
    status::Readiness readiness() const override;
    void request_answer(
        const std::string& dn,
        std::function<void(status::AnswerOutcome, std::string detail)> done) override;
    void trace(const std::string& id,
               std::function<void(std::optional<status::TraceView>)> done) override;
    void recent_calls(std::function<void(std::vector<status::RecentCallView>)> done) override;
    void live(std::function<void(status::LiveView)> done) override;
    void watch(std::weak_ptr<status::LiveWatcher> watcher) override;

    // Plays the controller's side of the live page: the view live() gives, and a change.
    void set_live(status::LiveView view);
    std::shared_ptr<status::LiveWatcher> watcher() const;  // null before the server started
    void set_calls(std::vector<status::CallView> calls);
    void set_trace(status::TraceView trace);  // served for trace.call.id
    void set_recent(std::vector<status::RecentCallView> recent);
    void set_mode(Mode mode) { mode_ = mode; }
    void set_readiness(status::Readiness r);
    void set_answer(const std::string& dn, status::AnswerOutcome outcome);
    std::vector<std::string> answer_requests() const;
    int calls_requests() const { return calls_requests_; }
    // Callbacks withheld in Mode::never, to be called late by the test.
    void release_withheld();

  private:
    void deliver(std::function<void()> f);

    mutable std::mutex mutex_;
    std::vector<status::CallView> calls_;
    std::map<std::string, status::TraceView> traces_;
    std::vector<status::RecentCallView> recent_;
    status::LiveView live_;
    std::weak_ptr<status::LiveWatcher> watcher_;
    status::Readiness readiness_{true, true, true, true, true, true};
    std::map<std::string, status::AnswerOutcome> answers_;
    std::vector<std::string> answer_requests_;
    std::vector<std::function<void()>> withheld_;
    std::vector<std::thread> threads_;
    std::atomic<Mode> mode_{Mode::inline_reply};
    std::atomic<int> calls_requests_{0};
};

status::CallView make_call(const std::string& id, const std::string& dn, const std::string& uuid,
                           const std::string& state);

}  // namespace talkgate::test
