#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

namespace boost::asio {
class io_context;
}

namespace ari {

// Where and as whom to reach Asterisk's ARI, and how hard to try.
struct ClientConfig {
    std::string base_url;  // http(s)://host:port, without /ari; ws(s) is derived from it
    std::string user;
    std::string password;  // sent only in the Authorization header, never logged
    std::string app;
    std::chrono::milliseconds request_timeout{5000};  // hard deadline of every REST call
    std::string ca_file;                              // extra CA bundle for https/wss
    bool insecure = false;  // skip certificate checks (explicit opt-in, logged)
    // A REST connection pool idle this long is replaced before the next request: shorter than
    // the peer's keep-alive (Asterisk's http.conf session_keep_alive, 15 s by default).
    std::chrono::milliseconds pool_idle_limit{10000};
    // Runs once per exception an application handler or a library callback threw (caught and
    // logged either way), e.g. to count it; any thread.
    std::function<void()> on_handler_error;

    // Events WebSocket.
    // The application's loop to run the WebSocket on (no thread of its own); null: a thread.
    // Then stop() must be called on that loop's thread, or while the loop runs.
    boost::asio::io_context* events_io = nullptr;
    bool subscribe_all = false;                       // subscribeAll=true on /ari/events
    std::size_t event_queue_capacity = 10000;         // events waiting for the executor
    std::size_t max_event_bytes = 1024 * 1024;        // larger events are counted and dropped
    std::chrono::milliseconds ping_interval{5000};    // WebSocket ping period
    std::chrono::milliseconds pong_timeout{3000};     // no pong by then: socket is dead
    std::chrono::milliseconds connect_timeout{5000};  // TCP + TLS + upgrade
    std::chrono::milliseconds backoff_initial{500};   // first reconnect delay
    std::chrono::milliseconds backoff_max{30000};     // reconnect delay cap
    double backoff_jitter = 0.2;                      // each delay up to 20 % shorter
    std::chrono::milliseconds healthy_after{10000};   // connected this long resets the backoff
};

}  // namespace ari
