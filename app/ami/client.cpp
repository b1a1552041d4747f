#include "ami/client.hpp"

#include "ami/frame_parser.hpp"
#include "logging/handler_guard.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <atomic>
#include <deque>
#include <exception>
#include <map>
#include <random>

namespace talkgate::ami {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

const char* to_string(ConnectionState::Kind kind) {
    switch (kind) {
        case ConnectionState::Kind::connected:
            return "connected";
        case ConnectionState::Kind::disconnected:
            return "disconnected";
        case ConnectionState::Kind::login_failed:
            return "login failed";
    }
    return "unknown";
}

namespace {

constexpr std::string_view kBannerPrefix = "Asterisk Call Manager/";

Error make_error(Error::Kind kind, std::string message) {
    Error e;
    e.kind = kind;
    e.message = std::move(message);
    return e;
}

std::string ms_text(std::chrono::milliseconds d) {
    return std::to_string(d.count()) + " ms";
}

// A short, printable preview of untrusted bytes for a log line.
std::string preview(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 60)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    return out;
}

}  // namespace

class Client::Impl : public std::enable_shared_from_this<Client::Impl> {
  public:
    Impl(asio::io_context& io, Settings settings, std::shared_ptr<spdlog::logger> logger)
        : strand_(asio::make_strand(io)),
          settings_(std::move(settings)),
          log_(logger ? std::move(logger) : spdlog::default_logger()),
          resolver_(strand_),
          socket_(strand_),
          handshake_timer_(strand_),
          keepalive_timer_(strand_),
          reconnect_timer_(strand_),
          parser_(settings_.max_frame_bytes),
          rng_(std::random_device{}()) {
        id_prefix_ = "tg" + std::to_string(rng_() % 1000000) + "-";
    }

    EventHandler on_event_;
    StateHandler on_state_;
    std::atomic<bool> detached_{false};  // the Client is gone: drop callbacks, invoke none

    void start() {
        asio::post(strand_, [self = shared_from_this()] {
            if (self->phase_ == Phase::idle) self->connect();
        });
    }

    void stop() {
        asio::post(strand_, [self = shared_from_this()] { self->shutdown(); });
    }

    void send(Action action, Handler<Reply> handler) {
        asio::post(strand_, [self = shared_from_this(), action = std::move(action),
                             handler = std::move(handler)]() mutable {
            self->submit(std::move(action), std::move(handler), false);
        });
    }

    // Fails `handler` later on the strand, never inline in the caller.
    void reject(Handler<Reply> handler, Error error) {
        asio::post(strand_, [self = shared_from_this(), handler = std::move(handler),
                             error = std::move(error)]() mutable {
            self->finish(handler, std::move(error));
        });
    }

    ClientStats stats() const {
        ClientStats s;
        s.connects = connects_;
        s.disconnects = disconnects_;
        s.messages = messages_;
        s.events = events_;
        s.malformed_frames = malformed_;
        s.late_replies = late_replies_;
        s.actions_sent = actions_sent_;
        s.actions_failed = actions_failed_;
        s.handler_errors = guard_.caught_total();
        return s;
    }

  private:
    enum class Phase { idle, connecting, login, connected, waiting, stopped };

    // One action waiting for its reply.
    struct Pending {
        std::string name;                           // for log lines (never the fields)
        Handler<Reply> handler;                     // called once with the result
        Reply reply;                                // response and list items so far
        bool list = false;                          // "EventList: start" seen: collect items
        std::unique_ptr<asio::steady_timer> timer;  // the action's deadline
    };

    void connect() {
        ++generation_;
        phase_ = Phase::connecting;
        parser_.reset();
        const auto gen = generation_;
        handshake_timer_.expires_after(settings_.connect_timeout);
        handshake_timer_.async_wait([self = shared_from_this(), gen](error_code ec) {
            if (ec || gen != self->generation_) return;
            if (self->phase_ == Phase::connecting || self->phase_ == Phase::login) {
                self->fail_connection("connect, banner and Login not done within " +
                                      ms_text(self->settings_.connect_timeout));
            }
        });
        log_->debug("AMI connecting to {}:{}", settings_.host, settings_.port);
        resolver_.async_resolve(
            settings_.host, std::to_string(settings_.port),
            [self = shared_from_this(), gen](error_code ec, tcp::resolver::results_type results) {
                if (gen != self->generation_) return;
                if (ec) return self->fail_connection("cannot resolve AMI host: " + ec.message());
                asio::async_connect(
                    self->socket_, results, [self, gen](error_code ec2, const tcp::endpoint&) {
                        if (gen != self->generation_) return;
                        if (ec2) {
                            return self->fail_connection("cannot connect: " + ec2.message());
                        }
                        error_code ignored;
                        self->socket_.set_option(tcp::no_delay(true), ignored);
                        self->read();
                    });
            });
    }

    void read() {
        const auto gen = generation_;
        socket_.async_read_some(asio::buffer(read_buf_),
                                [self = shared_from_this(), gen](error_code ec, std::size_t n) {
                                    self->on_read(gen, ec, n);
                                });
    }

    void on_read(std::uint64_t gen, error_code ec, std::size_t n) {
        if (gen != generation_) return;
        if (ec) {
            std::string why = ec == asio::error::eof ? std::string("Asterisk closed the connection")
                                                     : "read failed: " + ec.message();
            if (!shutdown_note_.empty())
                why += " after its Shutdown event (" + shutdown_note_ + ")";
            return fail_connection(why);
        }
        ParseOutput out;
        const bool ok = parser_.feed(std::string_view(read_buf_.data(), n), out);
        if (out.malformed_frames > 0) {
            malformed_ += out.malformed_frames;
            log_->warn("AMI dropped {} malformed frame(s) (lines without 'Key: value')",
                       out.malformed_frames);
        }
        if (out.banner) {
            on_banner(*out.banner);
            if (gen != generation_) return;
        }
        for (auto& m : out.messages) {
            dispatch(std::move(m));
            if (gen != generation_) return;
        }
        if (!ok) return fail_connection(out.error);
        read();
    }

    void on_banner(const std::string& banner) {
        if (banner.compare(0, kBannerPrefix.size(), kBannerPrefix) != 0) {
            return fail_connection("not an AMI server: unexpected banner '" + preview(banner) +
                                   "'");
        }
        banner_ = banner;
        phase_ = Phase::login;
        Action login("Login",
                     {{"Username", settings_.username},
                      {"Secret", settings_.secret},
                      {"Events", settings_.events}},
                     settings_.connect_timeout);
        const auto gen = generation_;
        submit(
            std::move(login),
            [self = shared_from_this(), gen](Result<Reply> r) {
                if (gen != self->generation_) return;
                if (r) return self->on_logged_in();
                if (r.error().kind == Error::Kind::asterisk) {
                    return self->fail_connection(r.error().message, true);
                }
                self->fail_connection("Login: " + r.error().describe());
            },
            true);
    }

    void on_logged_in() {
        phase_ = Phase::connected;
        handshake_timer_.cancel();
        failed_attempts_ = 0;
        shutdown_note_.clear();
        ++connects_;
        log_->info("AMI connected to {}:{} as {} ({})", settings_.host, settings_.port,
                   settings_.username, banner_);
        ConnectionState st;
        st.kind = ConnectionState::Kind::connected;
        st.banner = banner_;
        emit_state(st);
        schedule_keepalive();
    }

    void schedule_keepalive() {
        if (settings_.keepalive_interval.count() <= 0 || phase_ != Phase::connected) return;
        const auto gen = generation_;
        keepalive_timer_.expires_after(settings_.keepalive_interval);
        keepalive_timer_.async_wait([self = shared_from_this(), gen](error_code ec) {
            if (ec || gen != self->generation_ || self->phase_ != Phase::connected) return;
            Action ping("Ping", {}, self->settings_.pong_deadline);
            self->submit(
                std::move(ping),
                [self, gen](Result<Reply> r) {
                    if (gen != self->generation_) return;
                    if (!r && r.error().kind == Error::Kind::timeout) {
                        return self->fail_connection("no reply to keepalive Ping within " +
                                                     ms_text(self->settings_.pong_deadline) +
                                                     " (half-open connection?)");
                    }
                    // Any reply (even an error, or an overload refusal) keeps it going.
                    self->schedule_keepalive();
                },
                true);
        });
    }

    // `internal`: Login and keepalive Ping, allowed before login and not counted.
    void submit(Action action, Handler<Reply> handler, bool internal) {
        if (phase_ == Phase::stopped || detached_) {
            return finish(handler, make_error(Error::Kind::stopped, "AMI client stopped"));
        }
        const bool writable = internal ? (phase_ == Phase::login || phase_ == Phase::connected)
                                       : phase_ == Phase::connected;
        if (!writable) {
            return finish(
                handler, make_error(Error::Kind::not_connected, "not logged in to Asterisk AMI; " +
                                                                    action.name + " was not sent"));
        }
        if (pending_.size() >= settings_.max_pending_actions) {
            return finish(handler,
                          make_error(Error::Kind::overloaded, std::to_string(pending_.size()) +
                                                                  " AMI actions in flight; " +
                                                                  action.name + " was not sent"));
        }
        const std::string id = id_prefix_ + std::to_string(++next_id_);
        std::string wire;
        if (auto problem = serialize_action(action, id, wire); !problem.empty()) {
            return finish(handler, make_error(Error::Kind::invalid, problem));
        }
        const auto timeout = action.timeout.count() > 0 ? action.timeout : settings_.action_timeout;
        Pending p;
        p.name = action.name;
        p.handler = std::move(handler);
        p.timer = std::make_unique<asio::steady_timer>(strand_);
        p.timer->expires_after(timeout);
        p.timer->async_wait([self = shared_from_this(), id, timeout](error_code ec) {
            if (ec) return;
            auto it = self->pending_.find(id);
            if (it == self->pending_.end()) return;
            self->log_->warn("AMI action {} ({}) got no complete reply within {}", it->second.name,
                             id, ms_text(timeout));
            if (it->second.list) self->abandon_list(id);
            self->complete(it, make_error(Error::Kind::timeout,
                                          it->second.name + " got no complete reply within " +
                                              ms_text(timeout)));
        });
        log_->debug("AMI action {} ({}) sent", p.name, id);
        pending_.emplace(id, std::move(p));
        if (!internal) ++actions_sent_;
        write(std::move(wire));
    }

    void write(std::string bytes) {
        write_queue_.push_back(std::move(bytes));
        if (!writing_) write_next();
    }

    void write_next() {
        writing_ = true;
        const auto gen = generation_;
        asio::async_write(socket_, asio::buffer(write_queue_.front()),
                          [self = shared_from_this(), gen](error_code ec, std::size_t) {
                              if (gen != self->generation_) return;
                              if (ec) return self->fail_connection("write failed: " + ec.message());
                              self->write_queue_.pop_front();
                              if (self->write_queue_.empty()) {
                                  self->writing_ = false;
                              } else {
                                  self->write_next();
                              }
                          });
    }

    void dispatch(Message m) {
        ++messages_;
        if (auto id = m.get("ActionID")) {
            auto it = pending_.find(*id);
            if (it != pending_.end()) {
                Pending& p = it->second;
                if (m.is_response()) {
                    if (iequals(m.response(), "Error")) {
                        Error e = make_error(Error::Kind::asterisk, m.get_or("Message", "Error"));
                        e.response = std::move(m);
                        return complete(it, std::move(e));
                    }
                    if (iequals(m.get_or("EventList", ""), "start")) {
                        p.list = true;
                        p.reply.response = std::move(m);
                        return;
                    }
                    p.reply.response = std::move(m);
                    return complete(it, std::move(p.reply));
                }
                if (p.list && m.is_event()) {
                    if (iequals(m.get_or("EventList", ""), "Complete")) {
                        p.reply.complete = std::move(m);
                        return complete(it, std::move(p.reply));
                    }
                    p.reply.events.push_back(std::move(m));
                    return;
                }
            } else if (m.is_response() || abandoned(*id)) {
                ++late_replies_;
                log_->debug("AMI reply for no pending action ({}): timed out before", *id);
                return;
            }
        }
        if (!m.is_event()) {
            ++late_replies_;
            return;
        }
        if (iequals(m.event(), "Shutdown")) {
            shutdown_note_ =
                "Shutdown: " + m.get_or("Shutdown", "?") + ", Restart: " + m.get_or("Restart", "?");
            log_->warn("AMI: Asterisk is shutting down ({})", shutdown_note_);
        }
        ++events_;
        if (on_event_ && !detached_) guarded("event handler", [&] { on_event_(m); });
    }

    // Remembers a timed-out list action so its late items are not taken for ordinary events.
    void abandon_list(const std::string& id) {
        abandoned_lists_.push_back(id);
        if (abandoned_lists_.size() > 64) abandoned_lists_.pop_front();
    }

    bool abandoned(const std::string& id) const {
        for (const auto& a : abandoned_lists_) {
            if (a == id) return true;
        }
        return false;
    }

    void complete(std::map<std::string, Pending>::iterator it, Result<Reply> result) {
        Pending p = std::move(it->second);
        pending_.erase(it);
        if (p.timer) p.timer->cancel();
        if (!result) ++actions_failed_;
        finish(p.handler, std::move(result));
    }

    void finish(Handler<Reply>& handler, Result<Reply> result) {
        if (!handler || detached_) return;
        guarded("action handler", [&] { handler(std::move(result)); });
    }

    // An exception from application code must not unwind through Asio and our state.
    template <class F>
    void guarded(const char* what, F&& f) {
        guard_.run(what, std::forward<F>(f));
    }

    void close_transport() {
        ++generation_;
        error_code ignored;
        resolver_.cancel();
        socket_.shutdown(tcp::socket::shutdown_both, ignored);
        socket_.close(ignored);
        handshake_timer_.cancel();
        keepalive_timer_.cancel();
        write_queue_.clear();
        writing_ = false;
        parser_.reset();
    }

    void fail_pending(Error::Kind kind, const std::string& why) {
        auto pending = std::move(pending_);
        pending_.clear();
        for (auto& [id, p] : pending) {
            if (p.timer) p.timer->cancel();
            ++actions_failed_;
            finish(p.handler, make_error(kind, p.name + " (" + id + ") " + why));
        }
    }

    void fail_connection(const std::string& reason, bool login_refused = false) {
        if (phase_ == Phase::stopped || phase_ == Phase::waiting || phase_ == Phase::idle) return;
        const bool was_connected = phase_ == Phase::connected;
        close_transport();
        phase_ = Phase::waiting;
        ++disconnects_;
        fail_pending(Error::Kind::disconnected,
                     "failed: the AMI connection was lost before the reply (" + reason +
                         "); it was not re-sent");
        ConnectionState st;
        st.reason = reason;
        if (login_refused) {
            st.kind = ConnectionState::Kind::login_failed;
            st.retry_in = settings_.reconnect_max;
            ++failed_attempts_;
            log_->error("AMI login to {}:{} as {} refused: {}; next attempt in {}", settings_.host,
                        settings_.port, settings_.username, reason, ms_text(st.retry_in));
        } else {
            st.kind = ConnectionState::Kind::disconnected;
            std::uniform_real_distribution<double> unit(0.0, 1.0);
            st.retry_in = backoff_delay(failed_attempts_, settings_, unit(rng_));
            ++failed_attempts_;
            log_->warn("AMI {} {}:{}: {}; next attempt in {}",
                       was_connected ? "connection lost to" : "cannot connect to", settings_.host,
                       settings_.port, reason, ms_text(st.retry_in));
        }
        st.failed_attempts = failed_attempts_;
        reconnect_timer_.expires_after(st.retry_in);
        reconnect_timer_.async_wait([self = shared_from_this()](error_code ec) {
            if (ec || self->phase_ != Phase::waiting) return;
            self->connect();
        });
        emit_state(st);
    }

    void shutdown() {
        if (phase_ == Phase::stopped) return;
        close_transport();
        reconnect_timer_.cancel();
        phase_ = Phase::stopped;
        fail_pending(Error::Kind::stopped, "failed: the AMI client was stopped");
        log_->debug("AMI client stopped");
    }

    void emit_state(const ConnectionState& st) {
        if (on_state_ && !detached_) guarded("state handler", [&] { on_state_(st); });
    }

    asio::strand<asio::io_context::executor_type> strand_;  // serialises all of the below
    const Settings settings_;
    std::shared_ptr<spdlog::logger> log_;
    logging::HandlerGuard guard_{"AMI", settings_.on_handler_error};  // counts callbacks' throws
    tcp::resolver resolver_;
    tcp::socket socket_;
    asio::steady_timer handshake_timer_;  // deadline for connect + banner + Login
    asio::steady_timer keepalive_timer_;  // next keepalive Ping
    asio::steady_timer reconnect_timer_;  // backoff before the next attempt
    FrameParser parser_;
    std::array<char, 16384> read_buf_{};
    std::deque<std::string> write_queue_;  // one async_write in flight at a time
    bool writing_ = false;
    std::map<std::string, Pending> pending_;   // by ActionID
    std::deque<std::string> abandoned_lists_;  // recent list actions that timed out
    Phase phase_ = Phase::idle;
    std::uint64_t generation_ = 0;  // completions of an older connection are ignored
    std::uint64_t next_id_ = 0;
    std::string id_prefix_;  // per client, so replies of another client's ids never match
    unsigned failed_attempts_ = 0;
    std::mt19937 rng_;  // backoff jitter
    std::string banner_;
    std::string shutdown_note_;  // the last Shutdown event, to explain the close that follows

    std::atomic<std::uint64_t> connects_{0};
    std::atomic<std::uint64_t> disconnects_{0};
    std::atomic<std::uint64_t> messages_{0};
    std::atomic<std::uint64_t> events_{0};
    std::atomic<std::uint64_t> malformed_{0};
    std::atomic<std::uint64_t> late_replies_{0};
    std::atomic<std::uint64_t> actions_sent_{0};
    std::atomic<std::uint64_t> actions_failed_{0};
};

Client::Client(asio::io_context& io, Settings settings, std::shared_ptr<spdlog::logger> logger)
    : impl_(std::make_shared<Impl>(io, std::move(settings), std::move(logger))) {}

Client::~Client() {
    impl_->detached_ = true;
    impl_->stop();
}

void Client::on_event(EventHandler handler) {
    impl_->on_event_ = std::move(handler);
}
void Client::on_state(StateHandler handler) {
    impl_->on_state_ = std::move(handler);
}
void Client::start() {
    impl_->start();
}
void Client::stop() {
    impl_->stop();
}
ClientStats Client::stats() const {
    return impl_->stats();
}

void Client::send(Action action, Handler<Reply> handler) {
    impl_->send(std::move(action), std::move(handler));
}

namespace {

// Adapts a Reply handler to a typed one.
template <class T, class F>
Client::Handler<Reply> map_reply(Client::Handler<T> handler, F convert) {
    return [handler = std::move(handler), convert = std::move(convert)](Result<Reply> r) {
        if (!r) return handler(r.error());
        handler(convert(std::move(r.value())));
    };
}

bool is_token(const std::string& s) {
    if (s.empty()) return false;
    for (char c : s) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
        if (!ok) return false;
    }
    return true;
}

}  // namespace

void Client::pjsip_notify_channel(const std::string& channel, const std::string& event,
                                  Handler<Message> handler) {
    // "Variable: Event=..." is split by Asterisk at commas: allow a plain token only.
    auto on_reply = map_reply<Message>(
        std::move(handler), [](Reply r) -> Result<Message> { return std::move(r.response); });
    if (!is_token(event)) {
        return impl_->reject(
            std::move(on_reply),
            make_error(Error::Kind::invalid, "PJSIPNotify: the event must be a plain token"));
    }
    send(Action("PJSIPNotify", {{"Channel", channel}, {"Variable", "Event=" + event}}),
         std::move(on_reply));
}

void Client::core_show_channels(Handler<std::vector<ChannelInfo>> handler) {
    send(Action("CoreShowChannels"),
         map_reply<std::vector<ChannelInfo>>(std::move(handler),
                                             [](Reply r) -> Result<std::vector<ChannelInfo>> {
                                                 std::vector<ChannelInfo> out;
                                                 for (const auto& e : r.events) {
                                                     if (iequals(e.event(), "CoreShowChannel"))
                                                         out.push_back(ChannelInfo::from(e));
                                                 }
                                                 return out;
                                             }));
}

void Client::pjsip_show_contacts(Handler<std::vector<Contact>> handler) {
    send(Action("PJSIPShowContacts"), [handler = std::move(handler)](Result<Reply> r) {
        if (!r) {
            // Asterisk answers an empty list with an error instead of an empty EventList.
            if (r.error().kind == Error::Kind::asterisk &&
                r.error().message.find("No Contacts found") != std::string::npos) {
                return handler(std::vector<Contact>{});
            }
            return handler(r.error());
        }
        std::vector<Contact> out;
        for (const auto& e : r.value().events) {
            if (iequals(e.event(), "ContactList")) out.push_back(Contact::from(e));
        }
        handler(std::move(out));
    });
}

void Client::getvar(const std::string& channel, const std::string& variable,
                    Handler<std::string> handler) {
    send(Action("Getvar", {{"Channel", channel}, {"Variable", variable}}),
         map_reply<std::string>(std::move(handler), [](Reply r) -> Result<std::string> {
             return r.response.get_or("Value", "");
         }));
}

void Client::user_event(const std::string& name, std::vector<Message::Field> fields,
                        Handler<Message> handler) {
    auto on_reply = map_reply<Message>(
        std::move(handler), [](Reply r) -> Result<Message> { return std::move(r.response); });
    Action a("UserEvent", {{"UserEvent", name}});
    for (auto& f : fields) {
        // A key named Event would print a second "Event:" line in the event Asterisk raises.
        if (iequals(f.first, "Event") || iequals(f.first, "UserEvent")) {
            return impl_->reject(std::move(on_reply),
                                 make_error(Error::Kind::invalid,
                                            "UserEvent: a field must not be named " + f.first));
        }
        a.fields.push_back(std::move(f));
    }
    send(std::move(a), std::move(on_reply));
}

void Client::ping(Handler<Message> handler) {
    send(Action("Ping"), map_reply<Message>(std::move(handler), [](Reply r) -> Result<Message> {
             return std::move(r.response);
         }));
}

}  // namespace talkgate::ami
