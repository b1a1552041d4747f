#include "status/status_server.hpp"

#include "status/status_json.hpp"
#include "wire/json_text.hpp"
#include "wire/wire_text.hpp"

#include <cpprest/http_listener.h>
#include <spdlog/spdlog.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

namespace talkgate::status {

namespace http = web::http;
using json = nlohmann::json;

namespace {

// Compares in time independent of where the strings differ (length leaks, content does not).
bool constant_time_equal(const std::string& a, const std::string& b) {
    std::size_t n = std::max(a.size(), b.size());
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (std::size_t i = 0; i < n; ++i) {
        unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
        unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
        diff |= static_cast<unsigned char>(x ^ y);
    }
    return diff == 0;
}

http::http_response json_response(http::status_code code, const json& body) {
    http::http_response r(code);
    r.set_body(wire::json_text(body), "application/json");
    r.headers().add("Cache-Control", "no-store");
    return r;
}

http::http_response error_response(http::status_code code, const std::string& message) {
    return json_response(code, json{{"error", message}});
}

// The path for logs: bounded and escaped, so a client can neither flood nor forge log lines.
std::string loggable(const std::string& path) {
    return wire::escaped(path, 120);
}

}  // namespace

// A request waiting for the source: replied to exactly once, by the source's callback, by the
// deadline, or by stop(), whichever comes first.
class PendingReply {
  public:
    PendingReply(http::http_request request, std::string what)
        : request_(std::move(request)), what_(std::move(what)) {}

    // The reply's task (done once the response is sent), or nullopt when already replied.
    std::optional<pplx::task<void>> finish(http::http_response response) {
        if (done_.exchange(true)) return std::nullopt;
        auto code = response.status_code();
        spdlog::debug("status: {} -> {}", what_, code);
        // Observe the reply's task: an unobserved pplx exception terminates the process.
        return request_.reply(std::move(response)).then([what = what_](pplx::task<void> t) {
            try {
                t.get();
            } catch (const std::exception& e) {
                spdlog::debug("status: reply to {} failed: {}", what, e.what());
            }
        });
    }

  private:
    http::http_request request_;
    std::string what_;  // "GET /calls" for logs
    std::atomic<bool> done_{false};
};

class StatusServer::Impl {
  public:
    Impl(StatusServerOptions options, StatusSource& source, const metrics::Registry& metrics)
        : options_(std::move(options)), source_(source), metrics_(metrics) {}

    ~Impl() { stop(); }

    bool start(std::string& error) {
        if (listener_) {
            error = "status API already started";
            return false;
        }
        timer_thread_ = std::thread([this] { timers_.run(); });
        http::experimental::listener::http_listener_config config;
        config.set_timeout(std::chrono::seconds(10));
        try {
            listener_ = std::make_unique<http::experimental::listener::http_listener>(
                web::uri(url()), config);
            listener_->support([this](http::http_request request) { handle(std::move(request)); });
            listener_->open().wait();
        } catch (const std::exception& e) {
            error = "status API cannot listen on " + options_.host + ":" +
                    std::to_string(options_.port) + ": " + e.what();
            listener_.reset();
            stop_timers();
            return false;
        }
        spdlog::info("status API listening on {}:{}{}", options_.host, options_.port,
                     options_.token.empty() ? " (STATUS_TOKEN unset: only /health is served)" : "");
        return true;
    }

    void stop() {
        std::vector<std::shared_ptr<PendingReply>> waiting;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (stopping_) return;
            stopping_ = true;
            for (auto& [id, weak] : pending_) {
                if (auto p = weak.lock()) waiting.push_back(std::move(p));
            }
            pending_.clear();
        }
        std::vector<pplx::task<void>> replies;
        for (auto& p : waiting) {
            if (auto t = p->finish(error_response(503, "status API shutting down"))) {
                replies.push_back(std::move(*t));
            }
        }
        // Closing the listener drops connections: let these 503s reach their clients first.
        if (!replies.empty()) {
            auto sent = std::make_shared<std::promise<void>>();
            auto all = sent->get_future();
            pplx::when_all(replies.begin(), replies.end()).then([sent](pplx::task<void> t) {
                try {
                    t.get();
                } catch (const std::exception&) {
                }
                sent->set_value();
            });
            all.wait_for(std::chrono::seconds(2));
        }
        if (listener_) {
            try {
                listener_->close().wait();
            } catch (const std::exception& e) {
                spdlog::warn("status API: close failed: {}", e.what());
            }
            listener_.reset();
        }
        // Body reads still in flight hold `this`; closing the listener ends them soon.
        std::unique_lock<std::mutex> lock(mutex_);
        if (!body_reads_done_.wait_for(lock, std::chrono::seconds(15),
                                       [this] { return body_reads_ == 0; })) {
            spdlog::error("status API: {} body reads still pending after close", body_reads_);
        }
        lock.unlock();
        stop_timers();
    }

    // cpprestsdk 2.10's listener cannot bind an IPv6 literal: host is an IPv4 address or name.
    std::string url() const {
        return "http://" + options_.host + ":" + std::to_string(options_.port);
    }

  private:
    void stop_timers() {
        work_.reset();
        timers_.stop();
        if (timer_thread_.joinable()) timer_thread_.join();
    }

    void handle(http::http_request request) {
        try {
            route(request);
        } catch (const std::exception& e) {
            spdlog::warn("status: {} {} failed: {}", request.method(),
                         loggable(request.relative_uri().path()), e.what());
            reply_now(request, error_response(500, "internal error"));
        }
    }

    void reply_now(http::http_request& request, http::http_response response) {
        PendingReply(request, request.method() + " " + loggable(request.relative_uri().path()))
            .finish(std::move(response));
    }

    // Registers a request that waits for the source; null when the server is stopping.
    std::shared_ptr<PendingReply> wait_for_source(http::http_request& request,
                                                  const std::string& what) {
        auto pending = std::make_shared<PendingReply>(request, what);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (stopping_) return nullptr;
            // Forget finished entries now and then, so the map stays as small as the in-flight set.
            if (pending_.size() > 64) {
                for (auto it = pending_.begin(); it != pending_.end();) {
                    it = it->second.expired() ? pending_.erase(it) : std::next(it);
                }
            }
            pending_.emplace(next_id_++, pending);
        }
        auto timer = std::make_shared<boost::asio::steady_timer>(timers_, options_.deadline);
        std::weak_ptr<PendingReply> weak = pending;
        timer->async_wait([timer, weak, what](const boost::system::error_code& ec) {
            if (ec) return;
            if (auto p = weak.lock()) {
                if (p->finish(error_response(503, "the controller did not answer in time"))) {
                    spdlog::warn("status: {}: the controller did not answer in time", what);
                }
            }
        });
        return pending;
    }

    bool authorised(http::http_request& request) {
        auto it = request.headers().find("Authorization");
        if (it == request.headers().end()) {
            auto r = error_response(401, "missing Authorization: Bearer token");
            r.headers().add("WWW-Authenticate", "Bearer realm=\"talkgate\"");
            reply_now(request, std::move(r));
            return false;
        }
        const std::string& value = it->second;
        const std::string scheme = "bearer ";
        bool is_bearer = value.size() > scheme.size();
        for (std::size_t i = 0; is_bearer && i < scheme.size(); ++i) {
            is_bearer = std::tolower(static_cast<unsigned char>(value[i])) == scheme[i];
        }
        if (!is_bearer || !constant_time_equal(value.substr(scheme.size()), options_.token)) {
            spdlog::warn("status: {} {} from {}: invalid bearer token", request.method(),
                         loggable(request.relative_uri().path()), request.remote_address());
            auto r = error_response(401, "invalid bearer token");
            r.headers().add("WWW-Authenticate",
                            "Bearer realm=\"talkgate\", error=\"invalid_token\"");
            reply_now(request, std::move(r));
            return false;
        }
        return true;
    }

    void method_not_allowed(http::http_request& request, const char* allow) {
        auto r = error_response(405, "method " + request.method() + " not allowed here");
        r.headers().add("Allow", allow);
        reply_now(request, std::move(r));
    }

    void route(http::http_request& request) {
        const std::string raw_path = request.relative_uri().path();
        std::vector<std::string> segments;
        for (auto& s : web::uri::split_path(raw_path)) segments.push_back(web::uri::decode(s));
        const std::string& method = request.method();

        if (segments.size() == 1 && segments[0] == "health") {
            if (method != http::methods::GET) return method_not_allowed(request, "GET");
            return reply_now(request, json_response(200, json{{"status", "ok"}}));
        }
        if (options_.token.empty()) {
            return reply_now(request,
                             error_response(503,
                                            "STATUS_TOKEN is unset: only /health is served; "
                                            "set STATUS_TOKEN to enable the status API"));
        }
        if (!authorised(request)) return;

        if (segments.size() == 1 && segments[0] == "ready") {
            if (method != http::methods::GET) return method_not_allowed(request, "GET");
            Readiness r = source_.readiness();
            return reply_now(request, json_response(is_ready(r) ? 200 : 503, to_json(r)));
        }
        if (segments.size() == 1 && segments[0] == "metrics") {
            if (method != http::methods::GET) return method_not_allowed(request, "GET");
            http::http_response r(200);
            r.set_body(metrics_.render(), metrics::Registry::content_type);
            return reply_now(request, std::move(r));
        }
        if (!segments.empty() && segments[0] == "calls") {
            if (segments.size() == 1) {
                if (method != http::methods::GET) return method_not_allowed(request, "GET");
                return list_calls(request);
            }
            if (!valid_dn(segments[1])) {
                return reply_now(request, error_response(400,
                                                         "invalid DN: expected 1 to 32 of "
                                                         "[0-9A-Za-z*#+_.-]"));
            }
            if (segments.size() == 2) {
                if (method != http::methods::GET) return method_not_allowed(request, "GET");
                return calls_of_dn(request, segments[1]);
            }
            if (segments.size() == 3 && segments[2] == "answer") {
                if (method != http::methods::POST) return method_not_allowed(request, "POST");
                return answer(request, segments[1]);
            }
        }
        reply_now(request, error_response(404, "no such route: " + loggable(raw_path)));
    }

    void list_calls(http::http_request& request) {
        std::string call_uuid;
        for (auto& [key, value] : web::uri::split_query(request.relative_uri().query())) {
            std::string k = web::uri::decode(key);
            if (k != "call_uuid") {
                return reply_now(request,
                                 error_response(400, "unknown query parameter '" + loggable(k) +
                                                         "' (only call_uuid)"));
            }
            call_uuid = web::uri::decode(value);
            if (!valid_call_uuid(call_uuid)) {
                return reply_now(request, error_response(400,
                                                         "invalid call_uuid: expected 1 to 128 "
                                                         "visible ASCII characters"));
            }
        }
        fetch_calls(
            request, "GET /calls",
            [call_uuid](const CallView& c) {
                return call_uuid.empty() || c.call_uuid == call_uuid;
            },
            json::object());
    }

    void calls_of_dn(http::http_request& request, const std::string& dn) {
        fetch_calls(
            request, "GET /calls/" + dn, [dn](const CallView& c) { return c.dn == dn; },
            json{{"dn", dn}});
    }

    template <class Filter>
    void fetch_calls(http::http_request& request, const std::string& what, Filter keep,
                     json envelope) {
        auto pending = wait_for_source(request, what);
        if (!pending) return reply_now(request, error_response(503, "status API shutting down"));
        source_.calls([pending, keep, envelope](std::vector<CallView> calls) mutable {
            json list = json::array();
            for (const auto& c : calls) {
                if (keep(c)) list.push_back(to_json(c));
            }
            envelope["count"] = list.size();
            envelope["calls"] = std::move(list);
            pending->finish(json_response(200, envelope));
        });
    }

    void answer(http::http_request& request, const std::string& dn) {
        auto length = request.headers().content_length();
        if (length > options_.max_body_bytes) {
            return reply_now(request, error_response(413, "body too large"));
        }
        {
            std::lock_guard<std::mutex> lock(mutex_);
            ++body_reads_;
        }
        // The body is read asynchronously; the continuation owns a copy of the request.
        request.extract_string(true).then([this, request, dn](pplx::task<std::string> t) mutable {
            std::string body;
            bool readable = true;
            try {
                body = t.get();
            } catch (const std::exception&) {
                readable = false;
            }
            try {
                if (readable) {
                    check_body_then_answer(request, dn, body);
                } else {
                    reply_now(request, error_response(400, "unreadable body"));
                }
            } catch (const std::exception& e) {
                spdlog::warn("status: POST /calls/{}/answer failed: {}", dn, e.what());
                reply_now(request, error_response(500, "internal error"));
            }
            std::lock_guard<std::mutex> lock(mutex_);
            if (--body_reads_ == 0) body_reads_done_.notify_all();
        });
    }

    void check_body_then_answer(http::http_request& request, const std::string& dn,
                                const std::string& body) {
        if (body.size() > options_.max_body_bytes) {
            return reply_now(request, error_response(413, "body too large"));
        }
        if (body.find_first_not_of(" \t\r\n") != std::string::npos) {
            json parsed = json::parse(body, nullptr, false);
            if (parsed.is_discarded()) {
                return reply_now(request, error_response(400, "body is not valid JSON"));
            }
            if (!parsed.is_object()) {
                return reply_now(request, error_response(400, "body must be a JSON object"));
            }
            if (!parsed.empty()) {
                return reply_now(
                    request,
                    error_response(400, "unknown field '" + loggable(parsed.begin().key()) +
                                            "': the body must be empty or {}"));
            }
        }
        request_answer(request, dn);
    }

    void request_answer(http::http_request& request, const std::string& dn) {
        auto pending = wait_for_source(request, "POST /calls/" + dn + "/answer");
        if (!pending) return reply_now(request, error_response(503, "status API shutting down"));
        spdlog::info("status: manual answer requested for DN {}", dn);
        source_.request_answer(dn, [pending, dn](AnswerOutcome outcome, std::string detail) {
            json body{{"dn", dn}, {"result", to_string(outcome)}, {"detail", detail}};
            switch (outcome) {
                case AnswerOutcome::requested:
                    pending->finish(json_response(202, body));
                    return;
                case AnswerOutcome::no_such_call:
                    body["error"] = "no call for DN " + dn;
                    pending->finish(json_response(404, body));
                    return;
                case AnswerOutcome::not_ringing:
                    body["error"] = "the call for DN " + dn + " is not ringing";
                    pending->finish(json_response(409, body));
                    return;
            }
            pending->finish(error_response(500, "unknown answer outcome"));
        });
    }

    StatusServerOptions options_;
    StatusSource& source_;
    const metrics::Registry& metrics_;

    boost::asio::io_context timers_;  // deadlines for requests waiting on the source
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
        boost::asio::make_work_guard(timers_);
    std::thread timer_thread_;
    std::unique_ptr<http::experimental::listener::http_listener> listener_;

    std::mutex mutex_;  // guards stopping_, pending_, next_id_, body_reads_
    bool stopping_ = false;
    int body_reads_ = 0;  // continuations that still hold `this`
    std::condition_variable body_reads_done_;
    std::map<std::uint64_t, std::weak_ptr<PendingReply>> pending_;  // for stop() to answer
    std::uint64_t next_id_ = 0;
};

StatusServer::StatusServer(StatusServerOptions options, StatusSource& source,
                           const metrics::Registry& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), source, metrics)) {}

StatusServer::~StatusServer() = default;

bool StatusServer::start(std::string& error) {
    return impl_->start(error);
}
void StatusServer::stop() {
    impl_->stop();
}
std::string StatusServer::url() const {
    return impl_->url();
}

}  // namespace talkgate::status
