#include "bridge/bridge_api_client.hpp"

#include "config/config.hpp"
#include "logging/handler_guard.hpp"
#include "wire/json_text.hpp"
#include "wire/wire_text.hpp"

#include <cpprest/http_client.h>
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <map>

namespace talkgate::bridge {

namespace {

using wire::replace_all;

// Percent-encodes a DN for a path segment (DNs are validated, but never trust input in URLs).
std::string path_segment(const std::string& s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

}  // namespace

struct BridgeApiClient::State : std::enable_shared_from_this<BridgeApiClient::State> {
    State(boost::asio::io_context& io, Settings s)
        : io(io),
          settings(std::move(s)),
          guard(std::make_shared<logging::HandlerGuard>("bridge API", settings.on_handler_error)) {}

    struct Request {
        std::string base;
        std::string path;
        nlohmann::json body;  // null: no body
        Handler done;
        Outcome outcome;
        std::chrono::steady_clock::time_point started;
        bool fresh_pool = false;  // the last attempt met a transport error
    };

    struct Pool {
        std::shared_ptr<web::http::client::http_client> client;  // in-flight requests keep theirs
        std::chrono::steady_clock::time_point used;              // last request sent
    };

    // cpprest keeps idle connections 30 to 60 s; a server that closed them meanwhile fails
    // the next request on one. So a pool idle for pool_idle_limit is replaced, and a retry
    // after a transport error (fresh_pool) goes out on a new pool, hence a new connection.
    web::http::client::http_client& client_for(const std::string& base, bool fresh_pool) {
        const auto now = std::chrono::steady_clock::now();
        auto it = clients.find(base);
        if (it != clients.end() && !fresh_pool &&
            now - it->second.used < settings.pool_idle_limit) {
            it->second.used = now;
            return *it->second.client;
        }
        web::http::client::http_client_config config;
        config.set_timeout(settings.timeout);
        if (settings.insecure) config.set_validate_certificates(false);
        if (!settings.ca_file.empty()) {
            auto ca = settings.ca_file;
            config.set_ssl_context_callback(
                [ca](boost::asio::ssl::context& ctx) { ctx.load_verify_file(ca); });
        }
        auto& pool = clients[base];
        pool.client = std::make_shared<web::http::client::http_client>(base, config);
        pool.used = now;
        return *pool.client;
    }

    void start(std::shared_ptr<Request> r) {
        r->started = std::chrono::steady_clock::now();
        r->outcome.url = url_without_credentials(r->base) + r->path;
        attempt(std::move(r));
    }

    void attempt(std::shared_ptr<Request> r) {
        ++r->outcome.attempts;
        web::http::http_request req(web::http::methods::POST);
        req.set_request_uri(r->path);
        if (!r->body.is_null()) req.set_body(wire::json_text(r->body), "application/json");
        std::weak_ptr<State> weak = shared_from_this();
        pplx::task<web::http::http_response> task;
        try {
            task = client_for(r->base, r->fresh_pool).request(req);
        } catch (const std::exception& e) {
            finish(std::move(r), 0, std::string("bad request: ") + e.what(), false, false);
            return;
        }
        // An error's body is read by a chained task: a continuation never waits on cpprest's pool.
        task.then([](web::http::http_response response) {
                const int status = response.status_code();
                if (status < 300) return pplx::task_from_result(AttemptOutcome{status, {}, false});
                return response.extract_string().then([status](pplx::task<std::string> body) {
                    AttemptOutcome o{status, "HTTP " + std::to_string(status), false};
                    try {
                        auto text = body.get();
                        if (!text.empty()) o.error += ": " + text.substr(0, 200);
                    } catch (const std::exception&) {
                    }
                    return o;
                });
            })
            .then([weak, r, guard = guard](pplx::task<AttemptOutcome> t) {
                guard->run("reply continuation", [&] {
                    auto outcome = reply_outcome(t);
                    auto self = weak.lock();
                    if (!self) return;
                    boost::asio::post(self->io, [self, r, outcome] {
                        self->guard->run("completion", [&] { self->complete(r, outcome); });
                    });
                });
            });
    }

    // What one attempt came to: transport errors and HTTP errors are expected, not thrown.
    struct AttemptOutcome {
        int status = 0;
        std::string error;
        bool timed_out = false;
    };

    static AttemptOutcome reply_outcome(pplx::task<AttemptOutcome>& t) {
        AttemptOutcome o;
        try {
            o = t.get();
        } catch (const web::http::http_exception& e) {
            o.error = e.what();
            o.timed_out = e.error_code() == std::errc::timed_out;
        } catch (const std::exception& e) {
            o.error = e.what();
        }
        return o;
    }

    // On the io thread: retry with backoff, or report the outcome.
    void complete(const std::shared_ptr<Request>& r, const AttemptOutcome& o) {
        const bool retryable = !o.timed_out && (o.status == 0 || o.status >= 500);
        if (!o.error.empty() && retryable && r->outcome.attempts <= settings.retries) {
            r->fresh_pool = o.status == 0;
            auto delay = settings.backoff * (1 << (r->outcome.attempts - 1));
            spdlog::debug("bridge API {}: {} (attempt {}), retrying in {} ms", r->outcome.url,
                          o.error, r->outcome.attempts, delay.count());
            auto timer = std::make_shared<boost::asio::steady_timer>(io, delay);
            std::weak_ptr<State> w = shared_from_this();
            timer->async_wait([w, r, timer](const boost::system::error_code& ec) {
                auto s = w.lock();
                if (!ec && s) s->guard->run("retry", [&] { s->attempt(r); });
            });
            return;
        }
        finish(r, o.status, o.error, o.error.empty(), o.timed_out);
    }

    void finish(std::shared_ptr<Request> r, int status, const std::string& error, bool ok,
                bool timed_out) {
        r->outcome.ok = ok;
        r->outcome.http_status = status;
        r->outcome.error = error;
        r->outcome.timed_out = timed_out;
        r->outcome.latency = std::chrono::steady_clock::now() - r->started;
        if (r->done) r->done(r->outcome);
    }

    boost::asio::io_context& io;
    Settings settings;
    // Counts what a continuation or completion did not expect; shared with continuations that
    // may outlive this state.
    std::shared_ptr<logging::HandlerGuard> guard;
    std::map<std::string, Pool> clients;  // by base URL; touched on io's thread only
};

BridgeApiClient::BridgeApiClient(boost::asio::io_context& io, Settings settings)
    : state_(std::make_shared<State>(io, std::move(settings))) {
    if (state_->settings.insecure && enabled())
        spdlog::warn("bridge API: TLS certificate verification is OFF (BRIDGE_API_INSECURE)");
}

BridgeApiClient::~BridgeApiClient() = default;

bool BridgeApiClient::enabled() const {
    return !state_->settings.url_template.empty();
}

bool BridgeApiClient::needs_contact_host() const {
    return state_->settings.url_template.find("{contact_host}") != std::string::npos;
}

std::string BridgeApiClient::base_url(const std::string& dn,
                                      const std::string& contact_host) const {
    auto url = replace_all(state_->settings.url_template, "{dn}", path_segment(dn));
    url = replace_all(url, "{contact_host}", contact_host);
    while (!url.empty() && url.back() == '/') url.pop_back();
    return url;
}

void BridgeApiClient::answer(const std::string& dn, const std::string& contact_host, Handler done) {
    auto r = std::make_shared<State::Request>();
    r->base = base_url(dn, contact_host);
    r->path = "/answer/" + path_segment(dn);
    r->done = std::move(done);
    state_->start(std::move(r));
}

void BridgeApiClient::notify(const std::string& dn, const std::string& contact_host,
                             const std::string& call_id, const std::string& call_uuid,
                             const std::string& event, Handler done) {
    auto r = std::make_shared<State::Request>();
    r->base = base_url(dn, contact_host);
    r->path = "/genesys-call-notify";
    r->body = {{"dn", dn}, {"call_id", call_id}, {"call_uuid", call_uuid}, {"event", event}};
    r->done = std::move(done);
    state_->start(std::move(r));
}

}  // namespace talkgate::bridge
