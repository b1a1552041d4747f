#include "ari/rest_client.hpp"

#include "ari/handler_guard.hpp"
#include "basic_auth.hpp"

#include <cpprest/http_client.h>
#include <pplx/threadpool.h>
#include <spdlog/spdlog.h>
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <utility>

namespace ari {
namespace {

using Query = std::vector<std::pair<std::string, std::string>>;

std::string query_string(const Query& q) {
    std::string out;
    for (const auto& [k, v] : q) {
        if (!out.empty()) out += '&';
        out += k + '=' + detail::url_encode(v);
    }
    return out;
}

std::string seg(const std::string& s) {
    return detail::url_encode(s);
}

// Asterisk puts the reason of a failure into {"message": "..."}; else use the body as is.
std::string error_message(const std::string& body) {
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_object() && j.contains("message") && j["message"].is_string())
        return j["message"].get<std::string>();
    return body.size() > 200 ? body.substr(0, 200) : body;
}

template <class T, class Parse>
Result<std::vector<T>> parse_list(const nlohmann::json& j, Parse parse) {
    if (!j.is_array()) return Error{Error::Kind::decode, 0, "expected a JSON array"};
    std::vector<T> out;
    out.reserve(j.size());
    for (const auto& item : j) {
        auto r = parse(item);
        if (!r) return r.error();
        out.push_back(std::move(r.value()));
    }
    return out;
}

Result<NoContent> to_done(nlohmann::json&&) {
    return NoContent{};
}

}  // namespace

struct RestClient::Impl : std::enable_shared_from_this<Impl> {
    struct Reply {
        int status = 0;
        std::string body;
    };

    // One request in flight: whoever claims it first (reply, deadline, shutdown) completes it.
    struct Call {
        std::atomic<bool> finished{false};
        pplx::cancellation_token_source cts;
        std::function<void(Result<nlohmann::json>)> deliver;
        // Sends the request; fresh_pool: on a new connection pool, so on a new connection.
        std::function<void(bool fresh_pool)> send;
        int retries_left = 1;
        bool claim() { return !finished.exchange(true); }
    };

    Impl(ClientConfig c, Executor e)
        : config(std::move(c)),
          executor(std::move(e)),
          auth(detail::basic_auth(config.user, config.password)),
          client(make_client()),
          client_used(std::chrono::steady_clock::now()) {
        if (config.insecure)
            spdlog::warn("ARI REST: TLS certificate verification is OFF (insecure mode)");
    }

    std::shared_ptr<web::http::client::http_client> make_client() const {
        return std::make_shared<web::http::client::http_client>(config.base_url + "/ari",
                                                                make_config(config));
    }

    // The client whose pool the next request draws from. Asterisk closes a keep-alive
    // connection idle for 15 s; cpprest pools idle connections 30 to 60 s, so after a quiet
    // period the pool holds only closed connections: start a new pool instead. fresh_pool also
    // replaces it (a stale connection was met: its pool mates are as old). Requests still on
    // the old pool finish on it; it closes its connections when the last one is done.
    std::shared_ptr<web::http::client::http_client> pool_for_request(bool fresh_pool) {
        const auto now = std::chrono::steady_clock::now();
        std::lock_guard lock(client_mu);
        if (fresh_pool || now - client_used >= config.pool_idle_limit) {
            client = make_client();
            spdlog::debug(
                "ARI REST: new connection pool ({})",
                fresh_pool ? "a pooled connection was closed by the peer" : "the pool was idle");
        }
        client_used = now;
        return client;
    }

    void mark_pool_used() {
        std::lock_guard lock(client_mu);
        client_used = std::chrono::steady_clock::now();
    }

    static web::http::client::http_client_config make_config(const ClientConfig& c) {
        web::http::client::http_client_config hc;
        // Our own timer enforces the hard deadline; cpprest's inactivity timer is a backstop
        // that ends a request Asterisk never answers, freeing its slot (see the deadline).
        hc.set_timeout(std::max<std::chrono::milliseconds>(
            c.request_timeout * 4, c.request_timeout + std::chrono::seconds(10)));
        hc.set_validate_certificates(!c.insecure);
        if (!c.ca_file.empty()) {
            const std::string ca = c.ca_file;
            hc.set_ssl_context_callback([ca](boost::asio::ssl::context& ctx) {
                boost::system::error_code ec;
                ctx.load_verify_file(ca, ec);
                if (ec) spdlog::error("ARI REST: cannot load CA file {}: {}", ca, ec.message());
            });
        }
        return hc;
    }

    void shutdown() {
        {
            std::lock_guard lock(mu);
            if (closed) return;
            closed = true;
        }
        std::vector<std::shared_ptr<Call>> calls;
        {
            std::lock_guard lock(calls_mu);
            closed_calls = true;
            for (auto& [id, w] : in_flight)
                if (auto c = w.lock()) calls.push_back(std::move(c));
            in_flight.clear();
            waiting.clear();
        }
        for (auto& c : calls) {
            c->finished = true;
            c->cts.cancel();
        }
        boost::asio::post(deadlines, [self = shared_from_this()] { self->timers.clear(); });
    }

    // Runs f on the application's executor unless the client is gone.
    void post(std::function<void()> f) {
        std::lock_guard lock(mu);
        if (closed) return;
        executor(std::move(f));
    }

    template <class T>
    void call(const web::http::method& method, const std::string& path, const Query& query,
              std::optional<nlohmann::json> body,
              std::function<Result<T>(nlohmann::json&&)> convert, Handler<T> done) {
        auto c = std::make_shared<Call>();
        std::weak_ptr<Impl> weak = shared_from_this();
        c->deliver = [weak, convert = std::move(convert),
                      done = std::move(done)](Result<nlohmann::json> r) {
            auto self = weak.lock();
            if (!self) return;
            Result<T> typed = Result<T>(Error{Error::Kind::decode, 0, "reply not decoded"});
            self->guard->run("reply decoding", [&] {
                typed = r ? convert(std::move(r.value())) : Result<T>(r.error());
            });
            self->post([done, typed = std::move(typed), guard = self->guard]() mutable {
                guard->run("completion handler", [&] { done(std::move(typed)); });
            });
        };
        const std::string target = query.empty() ? path : path + "?" + query_string(query);
        const std::uint64_t id = ++next_id;
        {
            std::lock_guard lock(calls_mu);
            if (closed_calls) return;
            in_flight[id] = c;
        }

        const std::string what = method + " " + path;
        const auto timeout = config.request_timeout;
        // Deadlines run on cpprest's own pool (where replies arrive too), serialised by a strand.
        boost::asio::post(deadlines, [self = shared_from_this(), c, id, what, timeout] {
            if (self->closed_calls_flag()) return;
            auto& timer =
                self->timers.emplace(id, boost::asio::steady_timer(self->deadlines, timeout))
                    .first->second;
            std::weak_ptr<Impl> weak_self = self;
            timer.async_wait(
                [weak_self, c, id, what, timeout](const boost::system::error_code& ec) {
                    if (ec) return;
                    if (auto s = weak_self.lock()) s->timers.erase(id);
                    if (!c->claim()) return;
                    // The caller hears of the timeout now; the request is not cancelled. Asterisk
                    // goes on serving it: closing the socket would free talkgate's slot but not
                    // Asterisk's HTTP session, and the next requests would pass its sessionlimit
                    // (100 s/s x 1000 lost calls to "session count exceeded"). The slot is freed
                    // when the reply, or cpprest's backstop timeout, ends the request.
                    spdlog::warn("ARI REST {}: no reply within {} ms", what, timeout.count());
                    c->deliver(Error{
                        Error::Kind::timeout, 0,
                        what + ": no reply within " + std::to_string(timeout.count()) + " ms"});
                });
        });

        const std::string auth_header = auth;
        std::weak_ptr<Call> weak_call = c;  // the pending request, not this function, owns c
        c->send = [this, weak_call, weak, what, id, method, target, body,
                   auth_header](bool fresh_pool) {
            auto c = weak_call.lock();
            if (!c) return;
            web::http::http_request req(method);
            req.set_request_uri(target);
            req.headers().add("Authorization", auth_header);
            if (body)
                req.set_body(body->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                             "application/json");
            // The body is read after the status line: chained, so no pool thread ever waits.
            pool_for_request(fresh_pool)
                ->request(req, c->cts.get_token())
                .then([](web::http::http_response response) {
                    const int status = response.status_code();
                    return response.extract_utf8string(true).then([status](std::string body) {
                        return Reply{status, std::move(body)};
                    });
                })
                .then([c, weak, what, id, guard = guard](pplx::task<Reply> t) {
                    guard->run("reply continuation", [&] {
                        Result<nlohmann::json> r = complete(t, what);
                        // A pooled connection the peer closed fails a request with a body at
                        // once ("Failed to write request body"), and so may its pool mates.
                        if (!r && r.error().kind == Error::Kind::transport && c->retries_left > 0 &&
                            !c->finished) {
                            --c->retries_left;
                            spdlog::debug("ARI REST {}: {}; retrying once on a new connection",
                                          what, r.error().message);
                            if (weak.lock()) {
                                c->send(true);
                                return;
                            }
                        }
                        if (auto self = weak.lock()) {
                            self->mark_pool_used();
                            {
                                std::lock_guard lock(self->calls_mu);
                                self->in_flight.erase(id);
                            }
                            boost::asio::post(self->deadlines,
                                              [self, id] { self->timers.erase(id); });
                            self->release_slot();
                        }
                        if (c->claim()) c->deliver(std::move(r));
                    });
                });
        };
        admit(std::move(c));
    }

    // At most kMaxInFlight requests are on the wire: Asterisk's HTTP server refuses sessions
    // beyond its sessionlimit (100 by default) and a slow Asterisk must not be flooded. The
    // rest wait here; their deadlines run from the call, so waiting counts against them.
    static constexpr std::size_t kMaxInFlight = 48;

    void admit(std::shared_ptr<Call> c) {
        {
            std::lock_guard lock(calls_mu);
            if (closed_calls) return;
            if (active >= kMaxInFlight) {
                waiting.push_back(std::move(c));
                return;
            }
            ++active;
        }
        start_or_skip(c);
    }

    // A call whose deadline passed while it waited is not sent; its slot goes to the next.
    void start_or_skip(const std::shared_ptr<Call>& c) {
        if (c->finished) {
            release_slot();
            return;
        }
        c->send(false);
    }

    void release_slot() {
        std::shared_ptr<Call> next;
        {
            std::lock_guard lock(calls_mu);
            if (waiting.empty() || closed_calls) {
                if (active > 0) --active;
                return;
            }
            next = std::move(waiting.front());
            waiting.pop_front();
        }
        start_or_skip(next);
    }

    // Turns cpprest's outcome into a Result; runs on cpprest's thread pool, t is done.
    static Result<nlohmann::json> complete(pplx::task<Reply>& t, const std::string& what) {
        try {
            auto [status, body] = t.get();
            spdlog::debug("ARI REST {} -> {}", what, status);
            if (status < 200 || status >= 300)
                return Error{Error::Kind::http, status, error_message(body)};
            if (status == 204 || body.empty()) return nlohmann::json();
            auto json = nlohmann::json::parse(body, nullptr, false);
            if (json.is_discarded()) return Error{Error::Kind::decode, status, "reply is not JSON"};
            return json;
        } catch (const pplx::task_canceled&) {
            return Error{Error::Kind::canceled, 0, what};
        } catch (const std::exception& e) {
            return Error{Error::Kind::transport, 0, what + ": " + e.what()};
        }
    }

    ClientConfig config;
    Executor executor;
    std::string auth;      // the Authorization header value: credentials go nowhere else
    std::mutex client_mu;  // guards client and client_used
    std::shared_ptr<web::http::client::http_client> client;  // its connection pool (client_mu)
    std::chrono::steady_clock::time_point client_used;       // last request sent or done
    // Deadlines of in-flight calls, on cpprest's pool: no thread of our own for them.
    boost::asio::strand<boost::asio::io_context::executor_type> deadlines{
        crossplat::threadpool::shared_instance().service().get_executor()};
    std::map<std::uint64_t, boost::asio::steady_timer> timers;  // on the deadlines strand only
    std::mutex mu;  // guards closed and calls into the executor
    // Shared with continuations and posted handlers, which may outlive this object.
    std::shared_ptr<HandlerGuard> guard =
        std::make_shared<HandlerGuard>("ARI REST", config.on_handler_error);
    bool closed = false;
    std::mutex calls_mu;  // guards in_flight
    bool closed_calls = false;
    bool closed_calls_flag() {
        std::lock_guard lock(calls_mu);
        return closed_calls;
    }
    std::atomic<std::uint64_t> next_id{0};
    std::map<std::uint64_t, std::weak_ptr<Call>> in_flight;  // canceled on shutdown
    std::size_t active = 0;                                  // requests on the wire (calls_mu)
    std::deque<std::shared_ptr<Call>> waiting;  // beyond kMaxInFlight, in order (calls_mu)
};

RestClient::RestClient(ClientConfig config, Executor executor)
    : impl_(std::make_shared<Impl>(std::move(config), std::move(executor))) {}

RestClient::~RestClient() {
    impl_->shutdown();
}

namespace {
const auto GET = web::http::methods::GET;
const auto POST = web::http::methods::POST;
const auto PUT = web::http::methods::PUT;
const auto DEL = web::http::methods::DEL;

nlohmann::json identity(nlohmann::json&& j) {
    return std::move(j);
}

void add_if(Query& q, const char* key, const std::string& v) {
    if (!v.empty()) q.emplace_back(key, v);
}

std::optional<nlohmann::json> variables_body(const nlohmann::json& variables) {
    if (!variables.is_object() || variables.empty()) return std::nullopt;
    return nlohmann::json{{"variables", variables}};
}
}  // namespace

void RestClient::asterisk_info(JsonHandler done) {
    impl_->call<nlohmann::json>(GET, "/asterisk/info", {}, std::nullopt, identity, std::move(done));
}

void RestClient::channels_list(Handler<std::vector<Channel>> done) {
    impl_->call<std::vector<Channel>>(
        GET, "/channels", {}, std::nullopt,
        [](nlohmann::json&& j) { return parse_list<Channel>(j, parse_channel); }, std::move(done));
}

void RestClient::channel_get(const std::string& id, Handler<Channel> done) {
    impl_->call<Channel>(
        GET, "/channels/" + seg(id), {}, std::nullopt,
        [](nlohmann::json&& j) { return parse_channel(j); }, std::move(done));
}

void RestClient::channel_answer(const std::string& id, DoneHandler done) {
    impl_->call<NoContent>(POST, "/channels/" + seg(id) + "/answer", {}, std::nullopt, to_done,
                           std::move(done));
}

void RestClient::channel_ring(const std::string& id, DoneHandler done) {
    impl_->call<NoContent>(POST, "/channels/" + seg(id) + "/ring", {}, std::nullopt, to_done,
                           std::move(done));
}

void RestClient::channel_ring_stop(const std::string& id, DoneHandler done) {
    impl_->call<NoContent>(DEL, "/channels/" + seg(id) + "/ring", {}, std::nullopt, to_done,
                           std::move(done));
}

void RestClient::channel_hold(const std::string& id, DoneHandler done) {
    impl_->call<NoContent>(POST, "/channels/" + seg(id) + "/hold", {}, std::nullopt, to_done,
                           std::move(done));
}

void RestClient::channel_unhold(const std::string& id, DoneHandler done) {
    impl_->call<NoContent>(DEL, "/channels/" + seg(id) + "/hold", {}, std::nullopt, to_done,
                           std::move(done));
}

void RestClient::channel_hangup(const std::string& id, const std::string& reason, DoneHandler done,
                                int reason_code) {
    Query q;
    if (reason_code > 0)
        q.emplace_back("reason_code", std::to_string(reason_code));
    else
        add_if(q, "reason", reason);
    impl_->call<NoContent>(DEL, "/channels/" + seg(id), q, std::nullopt, to_done, std::move(done));
}

void RestClient::channel_create(const CreateChannelParams& p, Handler<Channel> done) {
    Query q;
    add_if(q, "endpoint", p.endpoint);
    q.emplace_back("app", p.app.empty() ? impl_->config.app : p.app);
    add_if(q, "appArgs", p.app_args);
    add_if(q, "channelId", p.channel_id);
    add_if(q, "otherChannelId", p.other_channel_id);
    add_if(q, "originator", p.originator);
    impl_->call<Channel>(
        POST, "/channels/create", q, variables_body(p.variables),
        [](nlohmann::json&& j) { return parse_channel(j); }, std::move(done));
}

void RestClient::channel_dial(const std::string& id, const std::string& caller, int timeout_s,
                              DoneHandler done) {
    Query q;
    add_if(q, "caller", caller);
    if (timeout_s > 0) q.emplace_back("timeout", std::to_string(timeout_s));
    impl_->call<NoContent>(POST, "/channels/" + seg(id) + "/dial", q, std::nullopt, to_done,
                           std::move(done));
}

void RestClient::channel_originate(const OriginateParams& p, Handler<Channel> done) {
    Query q;
    add_if(q, "endpoint", p.endpoint);
    q.emplace_back("app", p.app.empty() ? impl_->config.app : p.app);
    add_if(q, "appArgs", p.app_args);
    add_if(q, "channelId", p.channel_id);
    add_if(q, "otherChannelId", p.other_channel_id);
    add_if(q, "originator", p.originator);
    add_if(q, "callerId", p.caller_id);
    if (p.timeout_s > 0) q.emplace_back("timeout", std::to_string(p.timeout_s));
    impl_->call<Channel>(
        POST, "/channels", q, variables_body(p.variables),
        [](nlohmann::json&& j) { return parse_channel(j); }, std::move(done));
}

void RestClient::channel_get_variable(const std::string& id, const std::string& variable,
                                      Handler<std::string> done) {
    impl_->call<std::string>(
        GET, "/channels/" + seg(id) + "/variable", {{"variable", variable}}, std::nullopt,
        [](nlohmann::json&& j) -> Result<std::string> {
            if (!j.is_object() || !j.contains("value") || !j["value"].is_string())
                return Error{Error::Kind::decode, 0, "variable reply without value"};
            return j["value"].get<std::string>();
        },
        std::move(done));
}

void RestClient::channel_set_variable(const std::string& id, const std::string& variable,
                                      const std::string& value, DoneHandler done) {
    impl_->call<NoContent>(POST, "/channels/" + seg(id) + "/variable",
                           {{"variable", variable}, {"value", value}}, std::nullopt, to_done,
                           std::move(done));
}

void RestClient::channel_send_dtmf(const std::string& id, const DtmfParams& p, DoneHandler done) {
    Query q = {{"dtmf", p.dtmf},
               {"before", std::to_string(p.before_ms)},
               {"between", std::to_string(p.between_ms)},
               {"duration", std::to_string(p.duration_ms)},
               {"after", std::to_string(p.after_ms)}};
    impl_->call<NoContent>(POST, "/channels/" + seg(id) + "/dtmf", q, std::nullopt, to_done,
                           std::move(done));
}

void RestClient::bridges_list(Handler<std::vector<Bridge>> done) {
    impl_->call<std::vector<Bridge>>(
        GET, "/bridges", {}, std::nullopt,
        [](nlohmann::json&& j) { return parse_list<Bridge>(j, parse_bridge); }, std::move(done));
}

void RestClient::bridge_create(const std::string& type, const std::string& bridge_id,
                               const std::string& name, Handler<Bridge> done) {
    Query q = {{"type", type.empty() ? std::string("mixing") : type}};
    add_if(q, "bridgeId", bridge_id);
    add_if(q, "name", name);
    impl_->call<Bridge>(
        POST, "/bridges", q, std::nullopt, [](nlohmann::json&& j) { return parse_bridge(j); },
        std::move(done));
}

void RestClient::bridge_add_channel(const std::string& bridge_id, const std::string& channel_id,
                                    DoneHandler done) {
    impl_->call<NoContent>(POST, "/bridges/" + seg(bridge_id) + "/addChannel",
                           {{"channel", channel_id}}, std::nullopt, to_done, std::move(done));
}

void RestClient::bridge_remove_channel(const std::string& bridge_id, const std::string& channel_id,
                                       DoneHandler done) {
    impl_->call<NoContent>(POST, "/bridges/" + seg(bridge_id) + "/removeChannel",
                           {{"channel", channel_id}}, std::nullopt, to_done, std::move(done));
}

void RestClient::bridge_destroy(const std::string& bridge_id, DoneHandler done) {
    impl_->call<NoContent>(DEL, "/bridges/" + seg(bridge_id), {}, std::nullopt, to_done,
                           std::move(done));
}

void RestClient::endpoints_list(Handler<std::vector<Endpoint>> done) {
    impl_->call<std::vector<Endpoint>>(
        GET, "/endpoints", {}, std::nullopt,
        [](nlohmann::json&& j) { return parse_list<Endpoint>(j, parse_endpoint); },
        std::move(done));
}

void RestClient::endpoint_get(const std::string& technology, const std::string& resource,
                              Handler<Endpoint> done) {
    impl_->call<Endpoint>(
        GET, "/endpoints/" + seg(technology) + "/" + seg(resource), {}, std::nullopt,
        [](nlohmann::json&& j) { return parse_endpoint(j); }, std::move(done));
}

void RestClient::application_get(const std::string& name, Handler<Application> done) {
    impl_->call<Application>(
        GET, "/applications/" + seg(name), {}, std::nullopt,
        [](nlohmann::json&& j) { return parse_application(j); }, std::move(done));
}

void RestClient::application_set_event_filter(const std::string& name, const nlohmann::json& filter,
                                              Handler<Application> done) {
    impl_->call<Application>(
        PUT, "/applications/" + seg(name) + "/eventFilter", {}, filter,
        [](nlohmann::json&& j) { return parse_application(j); }, std::move(done));
}

void RestClient::user_event(const std::string& event_name, const std::string& source,
                            const nlohmann::json& variables, DoneHandler done) {
    Query q = {{"application", impl_->config.app}};
    add_if(q, "source", source);
    impl_->call<NoContent>(POST, "/events/user/" + seg(event_name), q, variables_body(variables),
                           to_done, std::move(done));
}

void RestClient::request(const std::string& method, const std::string& path,
                         const std::string& query, std::optional<nlohmann::json> body,
                         JsonHandler done) {
    const std::string target = query.empty() ? path : path + "?" + query;
    impl_->call<nlohmann::json>(web::http::method(method), target, {}, std::move(body), identity,
                                std::move(done));
}

}  // namespace ari
