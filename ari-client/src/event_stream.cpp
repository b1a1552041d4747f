#include "ari/event_stream.hpp"
#include "ari/handler_guard.hpp"

#include "ari/backoff.hpp"
#include "basic_auth.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <websocketpp/client.hpp>
#include <websocketpp/config/asio_client.hpp>
#include <websocketpp/config/asio_no_tls_client.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

namespace ari {

const char* to_string(ConnectionState::Kind kind) {
    switch (kind) {
        case ConnectionState::Kind::connected:
            return "connected";
        case ConnectionState::Kind::disconnected:
            return "disconnected";
        case ConnectionState::Kind::reconnected:
            return "reconnected";
        case ConnectionState::Kind::application_replaced:
            return "application_replaced";
    }
    return "?";
}

namespace {

using Clock = std::chrono::steady_clock;

// At most one log line per second per kind of trouble, with the count it stands for.
class RateLimitedLog {
  public:
    explicit RateLimitedLog(const char* what) : what_(what) {}
    void hit(const std::string& detail) {
        ++pending_;
        const auto now = Clock::now();
        if (now - last_ < std::chrono::seconds(1)) return;
        spdlog::warn("ARI events: {} x{} (last: {})", what_, pending_, detail);
        last_ = now;
        pending_ = 0;
    }

  private:
    const char* what_;
    Clock::time_point last_{};
    std::uint64_t pending_ = 0;
};

std::string ws_url(const ClientConfig& c) {
    std::string base = c.base_url;
    if (base.rfind("https://", 0) == 0)
        base = "wss://" + base.substr(8);
    else if (base.rfind("http://", 0) == 0)
        base = "ws://" + base.substr(7);
    while (!base.empty() && base.back() == '/') base.pop_back();
    std::string url = base + "/ari/events?app=" + detail::url_encode(c.app);
    if (c.subscribe_all) url += "&subscribeAll=true";
    return url;
}

std::string host_of(const std::string& url) {
    auto start = url.find("://");
    start = start == std::string::npos ? 0 : start + 3;
    auto end = url.find_first_of(":/", start);
    return url.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// The WebSocket side for one websocketpp config (ws or wss); all of it on one I/O thread.
class Transport {
  public:
    virtual ~Transport() = default;
    virtual void start() = 0;
    virtual void stop() = 0;  // from any thread; returns once the I/O thread has ended
};

}  // namespace

// The part of the stream that is independent of ws/wss: queue, stats, delivery.
struct detail::StreamCore : std::enable_shared_from_this<StreamCore> {
    using Item = std::variant<Event, ConnectionState>;

    StreamCore(ClientConfig c, Executor e, EventStream::EventHandler ev,
               EventStream::StateHandler st)
        : config(std::move(c)),
          executor(std::move(e)),
          on_event(std::move(ev)),
          on_state(std::move(st)),
          url(ws_url(config)),
          auth(detail::basic_auth(config.user, config.password)),
          backoff(config.backoff_initial, config.backoff_max, config.backoff_jitter,
                  std::random_device{}()) {}

    // --- delivery (any thread) ---

    // Events obey the capacity; connection states are never dropped.
    void push(Item item) {
        bool post = false;
        {
            std::lock_guard lock(queue_mu);
            if (closed) return;
            const bool is_event = item.index() == 0;
            if (is_event && queued_events >= config.event_queue_capacity) {
                dropped.fetch_add(1, std::memory_order_relaxed);
                overflow_log.hit("queue of " + std::to_string(config.event_queue_capacity) +
                                 " full, event dropped");
                return;
            }
            if (is_event) ++queued_events;
            queue.push_back(std::move(item));
            if (!drain_posted) post = drain_posted = true;
        }
        if (post) schedule_drain();
    }

    void schedule_drain() {
        std::weak_ptr<StreamCore> weak = shared_from_this();
        executor([weak] {
            if (auto self = weak.lock()) self->drain();
        });
    }

    // One batch per executor task, so a flood cannot starve the application's other work.
    void drain() {
        std::vector<Item> batch;
        {
            std::lock_guard lock(queue_mu);
            batch.swap(queue);
            queue.swap(spare);  // empty, with the capacity an earlier batch left
            queued_events = 0;
        }
        for (auto& item : batch) {
            std::lock_guard lock(deliver_mu);
            if (closed_flag.load()) return;
            if (item.index() == 0) {
                delivered.fetch_add(1, std::memory_order_relaxed);
                if (on_event)
                    guard.run("event handler", [&] { on_event(std::move(std::get<0>(item))); });
            } else if (on_state) {
                guard.run("state handler", [&] { on_state(std::move(std::get<1>(item))); });
            }
        }
        batch.clear();
        {
            std::lock_guard lock(queue_mu);
            if (batch.capacity() <= kSpareCapacity && batch.capacity() > spare.capacity())
                spare.swap(batch);
            if (queue.empty() || closed) {
                drain_posted = false;
                return;
            }
        }
        schedule_drain();
    }

    void close_delivery() {
        {
            std::lock_guard lock(queue_mu);
            closed = true;
            queue.clear();
        }
        closed_flag = true;
        // Waits for a handler that is running now (re-entrant: stop() from a handler is fine).
        std::lock_guard lock(deliver_mu);
    }

    // --- connection (I/O thread) ---

    void on_message(const std::string& payload) {
        received.fetch_add(1, std::memory_order_relaxed);
        if (payload.size() > config.max_event_bytes) {
            oversized.fetch_add(1, std::memory_order_relaxed);
            oversized_log.hit(std::to_string(payload.size()) + " bytes");
            return;
        }
        auto event = decode_event(payload);
        if (!event) {
            malformed.fetch_add(1, std::memory_order_relaxed);
            malformed_log.hit(event.error().message);
            return;
        }
        const bool replaced = std::holds_alternative<ApplicationReplaced>(event.value());
        push(std::move(event.value()));
        if (replaced) {
            application_replaced = true;
            spdlog::error("ARI events: application {} was taken by another client: stopping",
                          config.app);
            push(ConnectionState{ConnectionState::Kind::application_replaced,
                                 "another client connected as app " + config.app});
        }
    }

    void on_open() {
        connects.fetch_add(1, std::memory_order_relaxed);
        connected_at = Clock::now();
        up = true;
        reported_down = false;
        const bool first = !ever_connected;
        ever_connected = true;
        spdlog::info("ARI events: {} to app {}", first ? "connected" : "reconnected", config.app);
        push(ConnectionState{
            first ? ConnectionState::Kind::connected : ConnectionState::Kind::reconnected, {}});
    }

    // Returns the delay before the next attempt, or nullopt when the stream must not retry.
    std::optional<std::chrono::milliseconds> on_down(const std::string& reason) {
        failures.fetch_add(1, std::memory_order_relaxed);
        if (up && Clock::now() - connected_at >= config.healthy_after) backoff.reset();
        up = false;
        if (stopping || application_replaced) return std::nullopt;
        if (!reported_down) {
            reported_down = true;
            push(ConnectionState{ConnectionState::Kind::disconnected, reason});
        }
        auto delay = backoff.next();
        spdlog::warn("ARI events: {} ({}); retry {} in {} ms",
                     ever_connected ? "lost" : "cannot connect", reason, backoff.attempt(),
                     delay.count());
        return delay;
    }

    ClientConfig config;
    Executor executor;
    EventStream::EventHandler on_event;
    EventStream::StateHandler on_state;
    std::string url;   // no credentials in it, safe to log
    std::string auth;  // Authorization header value

    // An Item is about 1.8 kB: a heap node per event (std::deque) made every event a large
    // allocation, and each of those consolidates malloc's fast bins. Two vectors take turns.
    static constexpr std::size_t kSpareCapacity = 1024;
    std::mutex queue_mu;  // guards queue, spare, queued_events, drain_posted, closed
    std::vector<Item> queue;
    std::vector<Item> spare;
    std::size_t queued_events = 0;
    bool drain_posted = false;
    bool closed = false;
    std::atomic<bool> closed_flag{false};
    std::recursive_mutex deliver_mu;  // held while a handler runs, so stop() can wait for it
    RateLimitedLog overflow_log{"event queue overflow"};

    std::atomic<std::uint64_t> received{0}, delivered{0}, dropped{0}, malformed{0}, oversized{0},
        connects{0}, failures{0}, pong_timeouts{0};

    // I/O thread only.
    Backoff backoff;
    RateLimitedLog malformed_log{"malformed event"};
    HandlerGuard guard{"ARI events",
                       config.on_handler_error};  // no exception from a handler leaves a thread
    RateLimitedLog oversized_log{"oversized event dropped"};
    Clock::time_point connected_at{};
    bool up = false;
    bool ever_connected = false;
    bool reported_down = false;
    bool stopping = false;
    bool application_replaced = false;

    std::mutex lifecycle_mu;  // serialises start() and stop()
    std::unique_ptr<Transport> transport;
};

namespace {

template <class Config>
class WsTransport : public Transport {
    using Client = websocketpp::client<Config>;
    using ConPtr = typename Client::connection_ptr;

  public:
    explicit WsTransport(detail::StreamCore* core)
        : core_(core),
          own_io_(core->config.events_io ? nullptr : std::make_unique<boost::asio::io_context>()),
          io_(core->config.events_io ? *core->config.events_io : *own_io_),
          reconnect_timer_(io_),
          ping_timer_(io_) {
        client_.clear_access_channels(websocketpp::log::alevel::all);
        client_.clear_error_channels(websocketpp::log::elevel::all);
        client_.init_asio(&io_);
        // Our own oversize check counts and drops; websocketpp's limit would kill the socket.
        client_.set_max_message_size(
            std::max<std::size_t>(core_->config.max_event_bytes * 4, 16 * 1024 * 1024));
        configure_tls(client_);
    }

    ~WsTransport() override { stop(); }

    void start() override {
        started_ = true;
        boost::asio::post(io_, [this, alive = std::weak_ptr<bool>(alive_)] {
            if (alive.lock()) connect();
        });
        if (own_io_) thread_ = std::thread([this] { io_.run(); });
    }

    void stop() override {
        if (!started_ || stopped_) return;
        stopped_ = true;
        if (!own_io_) return stop_on_shared_loop();
        boost::asio::post(io_, [this] { begin_close(); });
        // The close handshake gets a moment (unless the loop already ran out of work, e.g.
        // after ApplicationReplaced); then the loop is stopped regardless.
        std::unique_lock lock(done_mu_);
        done_cv_.wait_for(lock, std::chrono::milliseconds(1500),
                          [this] { return done_ || io_.stopped(); });
        lock.unlock();
        io_.stop();
        thread_.join();
    }

  private:
    void begin_close() {
        core_->stopping = true;
        reconnect_timer_.cancel();
        ping_timer_.cancel();
        if (con_) {
            websocketpp::lib::error_code ec;
            con_->close(websocketpp::close::status::going_away, "client stopping", ec);
            if (ec) finish_if_stopping();
        } else {
            finish_if_stopping();
        }
    }

    // The loop is the application's: the close handshake goes on after stop() returns, and
    // every handler still queued finds alive_ expired once this transport is gone.
    void stop_on_shared_loop() {
        if (io_.get_executor().running_in_this_thread()) {
            begin_close();
            return;
        }
        boost::asio::post(io_, [this, alive = std::weak_ptr<bool>(alive_)] {
            if (alive.lock()) begin_close();
        });
        std::unique_lock lock(done_mu_);
        done_cv_.wait_for(lock, std::chrono::milliseconds(1500),
                          [this] { return done_ || io_.stopped(); });
    }

    void configure_tls(websocketpp::client<websocketpp::config::asio_client>&) {}
    void configure_tls(websocketpp::client<websocketpp::config::asio_tls_client>& c) {
        const ClientConfig cfg = core_->config;
        const std::string host = host_of(core_->url);
        if (cfg.insecure)
            spdlog::warn("ARI events: TLS certificate verification is OFF (insecure mode)");
        c.set_tls_init_handler([cfg, host](websocketpp::connection_hdl) {
            namespace ssl = boost::asio::ssl;
            auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
            boost::system::error_code ec;
            ctx->set_options(
                ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3,
                ec);
            if (cfg.insecure) {
                ctx->set_verify_mode(ssl::verify_none, ec);
                return ctx;
            }
            ctx->set_verify_mode(ssl::verify_peer, ec);
            ctx->set_default_verify_paths(ec);
            if (!cfg.ca_file.empty()) {
                ctx->load_verify_file(cfg.ca_file, ec);
                if (ec)
                    spdlog::error("ARI events: cannot load CA file {}: {}", cfg.ca_file,
                                  ec.message());
            }
            ctx->set_verify_callback(ssl::host_name_verification(host), ec);
            return ctx;
        });
    }

    void finish_if_stopping() {
        if (!core_->stopping) return;
        {
            std::lock_guard lock(done_mu_);
            done_ = true;
        }
        done_cv_.notify_all();
    }

    void connect() {
        if (core_->stopping) return finish_if_stopping();
        websocketpp::lib::error_code ec;
        ConPtr con = client_.get_connection(core_->url, ec);
        if (ec) return down("bad events URL: " + ec.message());
        con->append_header("Authorization", core_->auth);
        con->set_open_handshake_timeout(core_->config.connect_timeout.count());
        con->set_pong_timeout(core_->config.pong_timeout.count());
        con->set_close_handshake_timeout(1000);
        const std::uint64_t gen = ++generation_;
        con->set_open_handler(
            [this, gen, alive = std::weak_ptr<bool>(alive_)](websocketpp::connection_hdl) {
                if (!alive.lock() || gen != generation_) return;
                core_->guard.run("open handler", [&] {
                    core_->on_open();
                    schedule_ping(gen);
                });
            });
        con->set_fail_handler(
            [this, gen, alive = std::weak_ptr<bool>(alive_)](websocketpp::connection_hdl h) {
                if (!alive.lock() || gen != generation_) return;
                core_->guard.run("fail handler", [&] { on_fail(h); });
            });
        con->set_close_handler(
            [this, gen, alive = std::weak_ptr<bool>(alive_)](websocketpp::connection_hdl h) {
                if (!alive.lock() || gen != generation_) return;
                core_->guard.run("close handler", [&] { on_close(h); });
            });
        con->set_message_handler([this, gen, alive = std::weak_ptr<bool>(alive_)](
                                     websocketpp::connection_hdl,
                                     typename Client::message_ptr msg) {
            if (!alive.lock() || gen != generation_) return;
            core_->guard.run("message handler", [&] {
                core_->on_message(msg->get_payload());
                if (core_->application_replaced && con_) {
                    websocketpp::lib::error_code ec2;
                    con_->close(websocketpp::close::status::normal, "application replaced", ec2);
                }
            });
        });
        con->set_pong_handler([this, gen, alive = std::weak_ptr<bool>(alive_)](
                                  websocketpp::connection_hdl, std::string) {
            if (alive.lock() && gen == generation_) awaiting_pong_ = false;
        });
        con->set_pong_timeout_handler([this, gen, alive = std::weak_ptr<bool>(alive_)](
                                          websocketpp::connection_hdl, std::string) {
            if (!alive.lock() || gen != generation_ || !con_) return;
            core_->pong_timeouts.fetch_add(1, std::memory_order_relaxed);
            pending_reason_ = "no pong within " +
                              std::to_string(core_->config.pong_timeout.count()) +
                              " ms (half-open socket)";
            // No close handshake on a dead socket: drop it now.
            core_->guard.run("pong timeout handler",
                             [&] { con_->terminate(websocketpp::lib::error_code()); });
        });
        con_ = con;
        awaiting_pong_ = false;
        client_.connect(con);
    }

    void on_fail(websocketpp::connection_hdl h) {
        std::string reason = "connect failed";
        if (auto c = client_.get_con_from_hdl(h)) {
            reason += ": " + c->get_ec().message();
            if (c->get_response_code() != 0)
                reason += " (HTTP " + std::to_string(c->get_response_code()) + ")";
        }
        down(reason);
    }

    void on_close(websocketpp::connection_hdl h) {
        std::string reason = pending_reason_;
        pending_reason_.clear();
        if (reason.empty()) {
            reason = "connection closed";
            if (auto c = client_.get_con_from_hdl(h)) {
                if (c->get_remote_close_code() != websocketpp::close::status::blank)
                    reason += ": remote code " + std::to_string(c->get_remote_close_code()) + " " +
                              c->get_remote_close_reason();
                else if (c->get_ec())
                    reason += ": " + c->get_ec().message();
            }
        }
        down(reason);
    }

    void schedule_ping(std::uint64_t gen) {
        ping_timer_.expires_after(core_->config.ping_interval);
        ping_timer_.async_wait(
            [this, gen, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& ec) {
                if (ec || !alive.lock() || gen != generation_ || !con_ || core_->stopping) return;
                // A new ping would restart websocketpp's pong timer: never ping while one is due.
                if (!awaiting_pong_) {
                    websocketpp::lib::error_code pec;
                    con_->ping("talkgate", pec);
                    awaiting_pong_ = !pec;
                }
                schedule_ping(gen);
            });
    }

    void down(const std::string& reason) {
        ping_timer_.cancel();
        con_.reset();
        ++generation_;
        auto delay = core_->on_down(reason);
        if (!delay) return finish_if_stopping();
        reconnect_timer_.expires_after(*delay);
        reconnect_timer_.async_wait(
            [this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& ec) {
                if (!ec && alive.lock()) connect();
            });
    }

    detail::StreamCore* core_;  // owns this transport, so outlives it
    // Handlers queued on a shared loop may run after this transport is gone: they check it.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    std::unique_ptr<boost::asio::io_context> own_io_;  // null on the application's loop
    boost::asio::io_context& io_;
    Client client_;
    boost::asio::steady_timer reconnect_timer_;
    boost::asio::steady_timer ping_timer_;
    ConPtr con_;                    // the current connection, if any
    std::uint64_t generation_ = 0;  // ignores callbacks of connections we gave up on
    std::string pending_reason_;    // why we are dropping the socket ourselves
    bool awaiting_pong_ = false;    // a ping is out and its pong deadline runs
    std::thread thread_;
    bool started_ = false;
    bool stopped_ = false;
    std::mutex done_mu_;
    std::condition_variable done_cv_;
    bool done_ = false;
};

}  // namespace

EventStream::EventStream(ClientConfig config, Executor executor, EventHandler on_event,
                         StateHandler on_state)
    : impl_(std::make_shared<detail::StreamCore>(std::move(config), std::move(executor),
                                                 std::move(on_event), std::move(on_state))) {}

EventStream::~EventStream() {
    stop();
}

void EventStream::start() {
    std::lock_guard lock(impl_->lifecycle_mu);
    if (impl_->transport || impl_->closed_flag) return;
    if (impl_->url.rfind("wss://", 0) == 0)
        impl_->transport =
            std::make_unique<WsTransport<websocketpp::config::asio_tls_client>>(impl_.get());
    else
        impl_->transport =
            std::make_unique<WsTransport<websocketpp::config::asio_client>>(impl_.get());
    impl_->transport->start();
}

void EventStream::stop() {
    std::lock_guard lock(impl_->lifecycle_mu);
    if (impl_->transport) impl_->transport->stop();
    impl_->close_delivery();
}

EventStreamStats EventStream::stats() const {
    EventStreamStats s;
    s.received = impl_->received.load();
    s.delivered = impl_->delivered.load();
    s.dropped = impl_->dropped.load();
    s.malformed = impl_->malformed.load();
    s.oversized = impl_->oversized.load();
    s.connects = impl_->connects.load();
    s.failures = impl_->failures.load();
    s.pong_timeouts = impl_->pong_timeouts.load();
    s.handler_errors = impl_->guard.caught_total();
    return s;
}

}  // namespace ari
