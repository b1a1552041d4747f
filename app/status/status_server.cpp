#include "status/status_server.hpp"

#include "logging/handler_guard.hpp"
#include "logging/rate_limit.hpp"
#include "status/live_events.hpp"
#include "status/openapi_document.hpp"
#include "status/status_routes.hpp"
#include "status/web_assets.hpp"
#include "wire/wire_text.hpp"

#include <cpprest/http_listener.h>
#include <pplx/threadpool.h>
#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <optional>

namespace talkgate::status {

namespace http = web::http;

namespace {

http::http_response to_http(const Reply& reply) {
    http::http_response r(static_cast<http::status_code>(reply.status));
    r.set_body(reply.body, reply.content_type);
    for (const auto& [name, value] : reply.headers) r.headers().add(name, value);
    return r;
}

http::http_response error_response(http::status_code code, const std::string& message) {
    return to_http(error_reply(code, message));
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
        : options_(std::move(options)),
          routes_{options_.token, options_.max_body_bytes},
          source_(source),
          metrics_(metrics),
          guard_(std::make_shared<logging::HandlerGuard>("status API", options_.on_handler_error)),
          live_(std::make_shared<LiveEvents>(options_.live, guard_)) {}

    ~Impl() { stop(); }

    bool start(std::string& error) {
        if (listener_) {
            error = "status API already started";
            return false;
        }
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
            return false;
        }
        source_.watch(live_);
        spdlog::info("status API listening on {}:{}{}", options_.host, options_.port,
                     options_.token.empty() ? " (STATUS_TOKEN unset: only /health is served)" : "");
        return true;
    }

    bool stop() {
        std::vector<std::shared_ptr<PendingReply>> waiting;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (stopping_) return closed_;
            stopping_ = true;
            for (auto& [id, weak] : pending_) {
                if (auto p = weak.lock()) waiting.push_back(std::move(p));
            }
            pending_.clear();
        }
        // The page's streams end first: an open stream would hold the listener's close, and
        // closing it cuts a stream whose end has not gone out yet.
        live_->close_all();
        if (!live_->wait_ended(std::chrono::seconds(1)))
            spdlog::warn(
                "status API: a live page stream did not end in 1 s (a client that "
                "reads nothing); closing anyway");
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
        if (listener_) closed_ = close_listener();
        // Body reads still in flight hold `this`; closing the listener ends them soon.
        std::unique_lock<std::mutex> lock(mutex_);
        if (!body_reads_done_.wait_for(lock, options_.close_timeout,
                                       [this] { return body_reads_ == 0; })) {
            spdlog::error("status API: {} body reads still pending after close", body_reads_);
            closed_ = false;
        }
        return closed_;
    }

    // cpprestsdk's close waits, on a pool thread, for every open connection's handler to run on
    // another; bounded, so a stuck pool delays the exit by seconds, never forever.
    bool close_listener() {
        auto closed = std::make_shared<std::promise<void>>();
        auto done = closed->get_future();
        try {
            listener_->close().then([closed](pplx::task<void> t) {
                try {
                    t.get();
                } catch (const std::exception& e) {
                    spdlog::warn("status API: close failed: {}", e.what());
                }
                closed->set_value();
            });
        } catch (const std::exception& e) {
            spdlog::warn("status API: close failed: {}", e.what());
            closed->set_value();
        }
        if (done.wait_for(options_.close_timeout) == std::future_status::ready) {
            listener_.reset();
            return true;
        }
        spdlog::error("status API: the listener did not close in {} ms; leaving it to the exit",
                      options_.close_timeout.count());
        (void)listener_.release();  // its destructor would wait for the same close
        return false;
    }

    // cpprestsdk 2.10's listener cannot bind an IPv6 literal: host is an IPv4 address or name.
    std::string url() const {
        return "http://" + options_.host + ":" + std::to_string(options_.port);
    }

  private:
    // Runs on cpprestsdk's threads: nothing may escape into the listener.
    void handle(http::http_request request) {
        if (!guard_->run("request handler", [&] { serve(request); })) {
            reply_now(request, error_response(500, "internal error"));
        }
    }

    void reply_now(http::http_request& request, http::http_response response) {
        PendingReply(request,
                     request.method() + " " + wire::escaped(request.relative_uri().path(), 120))
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
        // On cpprest's pool, where the listener runs: the handler holds no pointer to this server.
        auto timer = std::make_shared<boost::asio::steady_timer>(
            crossplat::threadpool::shared_instance().service(), options_.deadline);
        std::weak_ptr<PendingReply> weak = pending;
        timer->async_wait([guard = guard_, timer, weak, what](const boost::system::error_code& ec) {
            if (ec) return;
            guard->run("deadline timer", [&] {
                auto p = weak.lock();
                if (p && p->finish(error_response(503, "the controller did not answer in time")))
                    spdlog::warn("status: {}: the controller did not answer in time", what);
            });
        });
        return pending;
    }

    void serve(http::http_request& request) {
        RequestHead head{
            request.method(), request.relative_uri().path(), request.relative_uri().query(), {}};
        for (const auto& [name, value] : request.headers()) head.headers.emplace_back(name, value);
        const Route r = route(head, routes_);
        if (r.bad_token) warn_bad_token(request, r.what);
        switch (r.kind) {
            case Route::Kind::reply:
                return reply_now(request, to_http(r.reply));
            case Route::Kind::page:
                return reply_now(request, page_asset(r.asset));
            case Route::Kind::events:
                return serve_events(request, r);
            case Route::Kind::openapi: {
                http::http_response doc(200);
                doc.set_body(std::string(openapi_document()), "application/json");
                return reply_now(request, std::move(doc));
            }
            case Route::Kind::readiness:
                return reply_now(request, to_http(readiness_reply(source_.readiness())));
            case Route::Kind::metrics: {
                http::http_response m(200);
                m.set_body(metrics_.render(), metrics::Registry::content_type);
                return reply_now(request, std::move(m));
            }
            case Route::Kind::calls:
                return fetch<std::vector<CallView>>(
                    request, r,
                    [this, all = r.all_gateways](auto done) {
                        if (all)
                            source_.all_calls(std::move(done));
                        else
                            source_.calls(std::move(done));
                    },
                    [r](const std::vector<CallView>& calls) { return calls_reply(r, calls); });
            case Route::Kind::trace:
                return fetch<std::optional<TraceView>>(
                    request, r,
                    [this, id = r.call_key](auto done) { source_.trace(id, std::move(done)); },
                    [](const std::optional<TraceView>& t) { return trace_reply(t); });
            case Route::Kind::recent:
                return fetch<std::vector<RecentCallView>>(
                    request, r, [this](auto done) { source_.recent_calls(std::move(done)); },
                    [r](const std::vector<RecentCallView>& calls) {
                        return recent_reply(r, calls);
                    });
            case Route::Kind::answer:
                return read_body_then_answer(request, r);
        }
    }

    static http::http_response page_asset(const std::string& name) {
        const WebAsset* asset = web_asset(name);
        if (asset == nullptr) return error_response(404, "no such page file");
        http::http_response r(200);
        r.set_body(std::string(asset->body), std::string(asset->content_type));
        // Nothing but this server's own files, no framing: the page holds the API token.
        r.headers().add("Content-Security-Policy",
                        "default-src 'none'; script-src 'self'; style-src 'self'; "
                        "connect-src 'self'; img-src 'self' data:; form-action 'self'; "
                        "frame-ancestors 'none'; base-uri 'none'");
        r.headers().add("X-Content-Type-Options", "nosniff");
        r.headers().add("Referrer-Policy", "no-referrer");
        r.headers().add("Cache-Control", "no-cache");
        return r;
    }

    // GET /events: the reply's body stays open; the hub writes each view into it.
    void serve_events(http::http_request& request, const Route& r) {
        auto opened = live_->open();
        if (!opened) {
            spdlog::warn("status: {}: no room for another live client", r.what);
            return reply_now(request, error_response(503, "too many live page clients"));
        }
        const std::uint64_t id = opened->first;
        http::http_response response(200);
        response.set_body(opened->second.create_istream(), "text/event-stream");
        response.headers().add("Cache-Control", "no-store");
        response.headers().add("X-Accel-Buffering", "no");  // a proxy in front must not buffer
        spdlog::debug("status: {} -> 200, live client {} ({} open)", r.what, id, live_->clients());
        std::weak_ptr<LiveEvents> weak = live_;
        try {
            request.reply(std::move(response)).then([weak, id](pplx::task<void> t) {
                try {
                    t.wait();
                } catch (const std::exception& e) {
                    spdlog::debug("status: live client {} left: {}", id, e.what());
                } catch (...) {
                }
                if (auto live = weak.lock()) live->gone(id);
            });
        } catch (...) {
            live_->gone(id);  // no reply went out: its stream is over before it began
            throw;
        }
        // Without a first view the page still gets the next change: nothing to undo on a throw.
        guard_->run("live source", [&] {
            source_.live([weak, id](LiveView view) {
                if (auto live = weak.lock()) live->send_to(id, view);
            });
        });
    }

    // A wrong token is worth a line, but a client guessing tokens must not flood the log.
    void warn_bad_token(http::http_request& request, const std::string& what) {
        std::uint64_t held_back = 0;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!bad_token_log_.allow(held_back)) return;
        }
        spdlog::warn("status: {} from {}: invalid bearer token ({} more not logged)", what,
                     wire::escaped(request.remote_address(), 64), held_back);
    }

    // Asks the source through `ask` (handed the callback to answer with) and replies with
    // `reply_of(answer)`: 503 at the deadline, 500 when either throws.
    template <class Answer, class Ask, class ReplyOf>
    void fetch(http::http_request& request, const Route& r, Ask ask, ReplyOf reply_of) {
        auto pending = wait_for_source(request, r.what);
        if (!pending) return reply_now(request, error_response(503, "status API shutting down"));
        const bool asked = guard_->run("source", [&] {
            ask(std::function<void(Answer)>([guard = guard_, pending, reply_of](Answer answer) {
                if (!guard->run("source callback",
                                [&] { pending->finish(to_http(reply_of(answer))); }))
                    pending->finish(error_response(500, "internal error"));
            }));
        });
        if (!asked) pending->finish(error_response(500, "internal error"));
    }

    void read_body_then_answer(http::http_request& request, const Route& r) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            ++body_reads_;
        }
        // The body is read asynchronously; the continuation owns a copy of the request.
        request.extract_string(true).then([this, request, r](pplx::task<std::string> t) mutable {
            std::optional<std::string> body;
            try {
                body = t.get();
            } catch (const std::exception&) {
                // The client went away or sent a broken body: expected, answered below.
            }
            const bool answered = guard_->run("answer body continuation", [&] {
                if (!body) return reply_now(request, error_response(400, "unreadable body"));
                if (auto error = check_answer_body(*body, routes_))
                    return reply_now(request, to_http(*error));
                request_answer(request, r);
            });
            if (!answered) reply_now(request, error_response(500, "internal error"));
            std::lock_guard<std::mutex> lock(mutex_);
            if (--body_reads_ == 0) body_reads_done_.notify_all();
        });
    }

    void request_answer(http::http_request& request, const Route& r) {
        auto pending = wait_for_source(request, r.what);
        if (!pending) return reply_now(request, error_response(503, "status API shutting down"));
        const std::string dn = r.dn.value_or("");
        spdlog::info("status: manual answer requested for DN {}", dn);
        const bool asked = guard_->run("answer source", [&] {
            source_.request_answer(
                dn, [guard = guard_, pending, dn](AnswerOutcome outcome, std::string detail) {
                    if (!guard->run("answer callback", [&] {
                            pending->finish(to_http(answer_reply(dn, outcome, detail)));
                        }))
                        pending->finish(error_response(500, "internal error"));
                });
        });
        if (!asked) pending->finish(error_response(500, "internal error"));
    }

    StatusServerOptions options_;
    RouteSettings routes_;  // the token and body limit, for the pure routing
    StatusSource& source_;
    const metrics::Registry& metrics_;
    // Counts what a handler did not expect; shared with the source's callbacks, which may
    // come after the server is gone.
    std::shared_ptr<logging::HandlerGuard> guard_;

    std::shared_ptr<LiveEvents> live_;  // GET /events clients; the controller feeds it

    std::unique_ptr<http::experimental::listener::http_listener> listener_;

    std::mutex mutex_;  // guards stopping_, pending_, next_id_, body_reads_, bad_token_log_
    logging::RateLimit bad_token_log_;  // one line per 10 s for wrong tokens
    bool stopping_ = false;
    bool closed_ = true;  // false once a close or a body read outlived close_timeout
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
bool StatusServer::stop() {
    return impl_->stop();
}
std::string StatusServer::url() const {
    return impl_->url();
}

}  // namespace talkgate::status
