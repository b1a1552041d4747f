#pragma once

#include "ari/client_config.hpp"
#include "ari/events.hpp"
#include "ari/executor.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace ari {

namespace detail {
struct StreamCore;
}

// What happened to the events WebSocket.
struct ConnectionState {
    enum class Kind {
        connected,             // first connection of this stream
        disconnected,          // lost (reason says why); reconnecting with backoff
        reconnected,           // back after a loss: events were missed, resync (GET /channels)
        application_replaced,  // another client took the app: the stream has stopped
    };
    Kind kind = Kind::connected;
    std::string reason;
};

const char* to_string(ConnectionState::Kind kind);

// Counters an application can read at any time (from any thread).
struct EventStreamStats {
    std::uint64_t received = 0;        // WebSocket messages read
    std::uint64_t delivered = 0;       // events handed to the application
    std::uint64_t dropped = 0;         // queue full: event dropped
    std::uint64_t malformed = 0;       // not JSON or not an ARI event
    std::uint64_t oversized = 0;       // larger than max_event_bytes
    std::uint64_t connects = 0;        // successful WebSocket opens
    std::uint64_t failures = 0;        // failed connects and lost connections
    std::uint64_t pong_timeouts = 0;   // half-open sockets detected
    std::uint64_t handler_errors = 0;  // exceptions caught from handlers (logged, not fatal)
};

// The /ari/events WebSocket for one app, with its own I/O thread. The read loop never blocks:
// events go to a bounded queue drained onto the executor, where on_event and on_state run
// (in order, never concurrently when the executor is serial). Reconnects with capped
// exponential backoff and jitter until stop() or ApplicationReplaced.
class EventStream {
  public:
    using EventHandler = std::function<void(Event)>;
    using StateHandler = std::function<void(ConnectionState)>;

    EventStream(ClientConfig config, Executor executor, EventHandler on_event,
                StateHandler on_state);
    ~EventStream();  // stops; nothing is delivered after it returns
    EventStream(const EventStream&) = delete;
    EventStream& operator=(const EventStream&) = delete;

    void start();
    // Closes the socket, stops reconnecting, joins the I/O thread. Idempotent.
    void stop();
    EventStreamStats stats() const;

  private:
    std::shared_ptr<detail::StreamCore> impl_;
};

}  // namespace ari
