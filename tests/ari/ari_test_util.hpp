#pragma once
// Test doubles shared by the ari-client tests: a serial executor thread, a recorder of
// events and connection states, and a blocking wrapper around asynchronous REST calls.
#include <ari/event_stream.hpp>
#include <ari/events.hpp>
#include <ari/executor.hpp>
#include <ari/result.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace ari_test {

using namespace std::chrono_literals;

// A single thread running posted tasks in order: what an Asio strand gives an application.
class TaskThread {
  public:
    TaskThread() : thread_([this] { run(); }) {}
    ~TaskThread() {
        {
            std::lock_guard lock(mu_);
            done_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }
    ari::Executor executor() {
        return [this](std::function<void()> f) { post(std::move(f)); };
    }
    void post(std::function<void()> f) {
        {
            std::lock_guard lock(mu_);
            tasks_.push_back(std::move(f));
        }
        cv_.notify_all();
    }
    std::thread::id id() const { return thread_.get_id(); }

  private:
    void run() {
        std::unique_lock lock(mu_);
        while (true) {
            cv_.wait(lock, [this] { return done_ || !tasks_.empty(); });
            if (tasks_.empty()) return;
            auto f = std::move(tasks_.front());
            tasks_.pop_front();
            lock.unlock();
            f();
            lock.lock();
        }
    }
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> tasks_;
    bool done_ = false;
    std::thread thread_;
};

// Everything a stream delivered, with bounded waits.
class Recorder {
  public:
    void on_event(ari::Event e) {
        {
            std::lock_guard lock(mu_);
            if (record_) record_->push_back(ari::event_base(e).raw.dump());
            events_.push_back(std::move(e));
            threads_.push_back(std::this_thread::get_id());
        }
        cv_.notify_all();
    }
    void on_state(ari::ConnectionState s) {
        {
            std::lock_guard lock(mu_);
            states_.push_back(std::move(s));
        }
        cv_.notify_all();
    }
    ari::EventStream::EventHandler event_handler() {
        return [this](ari::Event e) { on_event(std::move(e)); };
    }
    ari::EventStream::StateHandler state_handler() {
        return [this](ari::ConnectionState s) { on_state(std::move(s)); };
    }

    // The first not yet taken event of type T matching pred; taken events are not seen again.
    template <class T, class Pred>
    std::optional<T> next(Pred pred, std::chrono::milliseconds deadline) {
        std::unique_lock lock(mu_);
        const auto until = std::chrono::steady_clock::now() + deadline;
        while (true) {
            for (auto it = events_.begin(); it != events_.end(); ++it) {
                if (auto* e = std::get_if<T>(&*it); e && pred(*e)) {
                    T out = std::move(*e);
                    events_.erase(it);
                    return out;
                }
            }
            if (std::chrono::steady_clock::now() >= until) return std::nullopt;
            cv_.wait_until(lock, until);
        }
    }
    template <class T>
    std::optional<T> next(std::chrono::milliseconds deadline) {
        return next<T>([](const T&) { return true; }, deadline);
    }

    // The first not yet taken connection state of `kind`.
    std::optional<ari::ConnectionState> state(ari::ConnectionState::Kind kind,
                                              std::chrono::milliseconds deadline) {
        std::unique_lock lock(mu_);
        const auto until = std::chrono::steady_clock::now() + deadline;
        while (true) {
            for (auto it = states_.begin(); it != states_.end(); ++it) {
                if (it->kind == kind) {
                    auto out = *it;
                    states_.erase(it);
                    return out;
                }
            }
            if (std::chrono::steady_clock::now() >= until) return std::nullopt;
            cv_.wait_until(lock, until);
        }
    }
    std::size_t event_count() {
        std::lock_guard lock(mu_);
        return events_.size();
    }
    std::vector<std::thread::id> threads() {
        std::lock_guard lock(mu_);
        return threads_;
    }
    // Keeps the raw JSON of every event (for the benchmark corpus).
    void record_into(std::vector<std::string>* sink) {
        std::lock_guard lock(mu_);
        record_ = sink;
    }
    // Adds lines another recorder kept, under the lock this stream's events take (TSan).
    void record_lines(const std::vector<std::string>& lines) {
        std::lock_guard lock(mu_);
        if (record_) record_->insert(record_->end(), lines.begin(), lines.end());
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<ari::Event> events_;
    std::deque<ari::ConnectionState> states_;
    std::vector<std::thread::id> threads_;
    std::vector<std::string>* record_ = nullptr;
};

// Runs an asynchronous call and waits (bounded) for its result.
template <class T, class Start>
ari::Result<T> sync(Start start, std::chrono::milliseconds deadline = 10s) {
    auto promise = std::make_shared<std::promise<ari::Result<T>>>();
    auto future = promise->get_future();
    start([promise](ari::Result<T> r) { promise->set_value(std::move(r)); });
    if (future.wait_for(deadline) != std::future_status::ready)
        return ari::Error{ari::Error::Kind::timeout, 0, "test gave up waiting"};
    return future.get();
}

}  // namespace ari_test
