#pragma once

#include "ami/action.hpp"
#include "ami/message.hpp"
#include "ami/records.hpp"
#include "ami/result.hpp"
#include "ami/settings.hpp"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace spdlog {
class logger;
}

namespace talkgate::ami {

// A change of the connection, as seen by the application.
struct ConnectionState {
    enum class Kind {
        connected,     // logged in: actions may be sent; resync now (events were missed)
        disconnected,  // lost, or an attempt failed; a new attempt starts after retry_in
        login_failed,  // Asterisk refused the credentials; retried only after reconnect_max
    };
    Kind kind = Kind::disconnected;
    std::string reason;  // why (for login_failed: Asterisk's Message, e.g. Authentication failed)
    std::string banner;  // for connected: the server's banner, e.g. Asterisk Call Manager/11.0.0
    std::chrono::milliseconds retry_in{0};  // for disconnected/login_failed
    unsigned failed_attempts = 0;           // consecutive failures so far
};

const char* to_string(ConnectionState::Kind kind);

// Counters for the status API and for tests.
struct ClientStats {
    std::uint64_t connects = 0;          // successful logins
    std::uint64_t disconnects = 0;       // connections or attempts lost
    std::uint64_t messages = 0;          // frames received
    std::uint64_t events = 0;            // events handed to the application
    std::uint64_t malformed_frames = 0;  // frames dropped as not "Key: value"
    std::uint64_t late_replies = 0;      // responses for no pending action (after a timeout)
    std::uint64_t actions_sent = 0;
    std::uint64_t actions_failed = 0;  // completed with an Error
    std::uint64_t handler_errors = 0;  // exceptions the application's callbacks threw (caught)
};

// An asynchronous Asterisk Manager Interface client on an application's io_context.
//
// Everything runs on one strand of that io_context; every callback (action results, events,
// connection state) is invoked on it, one at a time, never inline inside the call that caused
// it. Callbacks must not block. Public functions may be called from any thread.
// Actions are sent only while logged in; an action whose connection drops fails with
// Error::Kind::disconnected and is never re-sent. The secret is never logged.
class Client {
  public:
    template <class T>
    using Handler = std::function<void(Result<T>)>;
    using EventHandler = std::function<void(const Message&)>;
    using StateHandler = std::function<void(const ConnectionState&)>;

    // `logger` defaults to spdlog's default logger.
    Client(boost::asio::io_context& io, Settings settings,
           std::shared_ptr<spdlog::logger> logger = nullptr);
    // Stops; no callback of this client runs after the destructor has returned when the
    // io_context is run by the destroying thread (or not at all). Pending handlers are dropped.
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Set these before start().
    void on_event(EventHandler handler);  // every event not consumed as a list item
    void on_state(StateHandler handler);

    // Connects, logs in, and keeps reconnecting (capped exponential backoff with jitter).
    void start();
    // Closes the connection; pending actions fail with Error::Kind::stopped. Final.
    void stop();

    // Sends an action; `handler` gets the response (and the items of an EventList action), or
    // an Error (Asterisk's "Response: Error", timeout, disconnected, ...).
    void send(Action action, Handler<Reply> handler);

    // In-dialog NOTIFY on a channel's SIP dialog: "Action: PJSIPNotify", "Channel:",
    // "Variable: Event=<event>" (event: talk or hold). Success means Asterisk sent it.
    void pjsip_notify_channel(const std::string& channel, const std::string& event,
                              Handler<Message> handler);
    void core_show_channels(Handler<std::vector<ChannelInfo>> handler);
    // Every contact (registered and permanent) with its URI's host; no contacts: empty list.
    void pjsip_show_contacts(Handler<std::vector<Contact>> handler);
    // A channel variable or function value ("Value:" of the response).
    void getvar(const std::string& channel, const std::string& variable,
                Handler<std::string> handler);
    // "Action: UserEvent", "UserEvent: <name>" plus `fields` (a key named Event is refused).
    void user_event(const std::string& name, std::vector<Message::Field> fields,
                    Handler<Message> handler);
    void ping(Handler<Message> handler);

    ClientStats stats() const;

    class Impl;

  private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace talkgate::ami
