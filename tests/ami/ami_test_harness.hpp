#pragma once

#include "ami/client.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace talkgate::test {

// A thread-safe queue the client's callbacks push into and the test thread waits on.
template <class T>
class Inbox {
  public:
    void push(T value) {
        {
            std::lock_guard lock(mu_);
            items_.push_back(std::move(value));
        }
        cv_.notify_all();
    }
    // The first item (dropping earlier ones) that satisfies `pred`, or nullopt after `deadline`.
    std::optional<T> next(const std::function<bool(const T&)>& pred,
                          std::chrono::milliseconds deadline) {
        std::unique_lock lock(mu_);
        const auto until = std::chrono::steady_clock::now() + deadline;
        while (true) {
            while (!items_.empty()) {
                T item = std::move(items_.front());
                items_.pop_front();
                if (pred(item)) return item;
            }
            if (cv_.wait_until(lock, until) == std::cv_status::timeout && items_.empty()) {
                return std::nullopt;
            }
        }
    }
    std::optional<T> next(std::chrono::milliseconds deadline) {
        return next([](const T&) { return true; }, deadline);
    }
    // True if an item satisfying `pred` is queued (nothing is removed).
    bool any(const std::function<bool(const T&)>& pred) {
        std::lock_guard lock(mu_);
        for (const auto& item : items_) {
            if (pred(item)) return true;
        }
        return false;
    }
    std::size_t size() {
        std::lock_guard lock(mu_);
        return items_.size();
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<T> items_;
};

// A spdlog sink that keeps every formatted line, to check what the client logs.
class StringSink : public spdlog::sinks::base_sink<std::mutex> {
  public:
    std::string text() {
        std::lock_guard<std::mutex> lock(mutex_);
        return text_;
    }

  protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        spdlog::memory_buf_t buf;
        formatter_->format(msg, buf);
        text_.append(buf.data(), buf.size());
    }
    void flush_() override {}

  private:
    std::string text_;
};

// A logger at trace level writing into a StringSink.
struct CapturedLog {
    std::shared_ptr<StringSink> sink = std::make_shared<StringSink>();
    std::shared_ptr<spdlog::logger> logger = [this] {
        auto l = std::make_shared<spdlog::logger>("ami-test", sink);
        l->set_level(spdlog::level::trace);
        return l;
    }();
    std::string text() { return sink->text(); }
};

// An io_context on its own thread with one AMI client whose callbacks feed Inboxes.
class ClientHarness {
  public:
    ClientHarness(ami::Settings settings, std::shared_ptr<spdlog::logger> logger = nullptr)
        : work_(boost::asio::make_work_guard(io_)) {
        client_ = std::make_unique<ami::Client>(io_, std::move(settings), std::move(logger));
        client_->on_state([this](const ami::ConnectionState& s) {
            check_thread();
            states.push(s);
        });
        client_->on_event([this](const ami::Message& m) {
            check_thread();
            events.push(m);
            history.push(m);
        });
        thread_ = std::thread([this] { io_.run(); });
    }
    ~ClientHarness() {
        // Destroy the client on the io thread so no callback races the destruction.
        std::promise<void> done;
        boost::asio::post(io_, [&] {
            client_.reset();
            done.set_value();
        });
        done.get_future().wait_for(std::chrono::seconds(5));
        work_.reset();
        io_.stop();
        thread_.join();
    }

    ami::Client& client() { return *client_; }

    // Waits for a state of `kind`.
    std::optional<ami::ConnectionState> wait_state(ami::ConnectionState::Kind kind,
                                                   std::chrono::milliseconds deadline) {
        return states.next([kind](const ami::ConnectionState& s) { return s.kind == kind; },
                           deadline);
    }
    // Waits for an event named `name` (Event: header) satisfying `pred`.
    std::optional<ami::Message> wait_event(
        const std::string& name, std::chrono::milliseconds deadline,
        const std::function<bool(const ami::Message&)>& pred = nullptr) {
        return events.next(
            [&](const ami::Message& m) {
                return ami::iequals(m.event(), name) && (!pred || pred(m));
            },
            deadline);
    }

    // Runs `start(handler)` and waits for the handler's result.
    template <class T>
    std::optional<ami::Result<T>> call(const std::function<void(ami::Client::Handler<T>)>& start,
                                       std::chrono::milliseconds deadline) {
        auto p = std::make_shared<std::promise<ami::Result<T>>>();
        auto f = p->get_future();
        start([this, p](ami::Result<T> r) {
            check_thread();
            p->set_value(std::move(r));
        });
        if (f.wait_for(deadline) != std::future_status::ready) return std::nullopt;
        return f.get();
    }

    // False once any callback ran on a thread other than the io_context's.
    bool callbacks_on_io_thread() const { return !off_thread_; }

    Inbox<ami::ConnectionState> states;
    Inbox<ami::Message> events;
    Inbox<ami::Message> history;  // every event, for "was it ever seen" checks

    // True if an event named `name` satisfying `pred` was delivered at any time so far.
    bool seen_event(const std::string& name,
                    const std::function<bool(const ami::Message&)>& pred = nullptr) {
        return history.any([&](const ami::Message& m) {
            return ami::iequals(m.event(), name) && (!pred || pred(m));
        });
    }

  private:
    void check_thread() {
        if (std::this_thread::get_id() != thread_.get_id()) off_thread_ = true;
    }

    std::atomic<bool> off_thread_{false};
    boost::asio::io_context io_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
    std::unique_ptr<ami::Client> client_;
    std::thread thread_;
};

}  // namespace talkgate::test
