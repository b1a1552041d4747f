#pragma once

#include "logging/handler_guard.hpp"
#include "status/status_source.hpp"

#include <cpprest/producerconsumerstream.h>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace talkgate::status {

// The web page's server-sent events: each client's response body is the read side of a
// producer_consumer_buffer this hub writes `event: view` frames into (synced per frame, so the
// listener sends each at once instead of waiting for a full chunk).
// Bounded: at most max_clients streams; a client whose unread backlog passes max_backlog_bytes
// is dropped (its stream ended). A comment line every `heartbeat` finds clients that left.
// Thread-safe: the controller's thread hands views in, cpprestsdk's threads add clients.
class LiveEvents : public LiveWatcher, public std::enable_shared_from_this<LiveEvents> {
  public:
    struct Limits {
        std::size_t max_clients = 16;
        std::size_t max_backlog_bytes = 1 << 20;
        std::chrono::milliseconds heartbeat{15000};
    };
    using Body = concurrency::streams::streambuf<std::uint8_t>;

    LiveEvents(Limits limits, std::shared_ptr<logging::HandlerGuard> guard);
    ~LiveEvents() override;

    // A new client's stream and its id; nullopt when max_clients listen or the hub is closed.
    std::optional<std::pair<std::uint64_t, Body>> open();
    // The client's response ended (sent, or the connection broke): forget it. Once per open().
    void gone(std::uint64_t id);
    // One client's first view (the others get it through changed()).
    void send_to(std::uint64_t id, const LiveView& view);
    // Ends every stream and refuses new ones: the listener can then close at once.
    void close_all();
    // After close_all(): waits until every response has sent its end (or broke), at most
    // `timeout` (a client that reads nothing never lets its end go out); true when all did.
    bool wait_ended(std::chrono::milliseconds timeout);

    std::size_t clients() const;    // streams still open
    std::uint64_t dropped() const;  // clients dropped for a backlog

    bool watching() const override;
    void changed(LiveView view) override;  // formats and writes on cpprestsdk's pool

  private:
    struct Client {
        Body body;
        // What the response has read of the body: counted by the buffer itself, since its own
        // in_avail() reads the size outside its lock.
        std::shared_ptr<std::atomic<std::size_t>> consumed;
        std::size_t written = 0;
        std::uint64_t seq = 0;  // the newest view written: an older one is skipped
        bool open = true;       // false once ended: no more writes
    };
    void broadcast(const LiveView& view);
    void write(std::uint64_t id, Client& c, const std::string& frame);  // mutex_ held
    void end(Client& c);                                                // mutex_ held
    void prune();  // forgets ended streams; mutex_ held
    void arm_heartbeat();

    Limits limits_;
    std::shared_ptr<logging::HandlerGuard> guard_;
    boost::asio::steady_timer heartbeat_;  // on cpprestsdk's pool

    mutable std::mutex mutex_;  // guards everything below
    std::map<std::uint64_t, Client> clients_;
    std::uint64_t next_id_ = 1;
    std::uint64_t dropped_ = 0;
    std::size_t replying_ = 0;  // responses not yet ended: open() without gone()
    std::condition_variable all_ended_;
    bool closed_ = false;
};

// One server-sent event: "event: view\nid: SEQ\ndata: JSON\n\n".
std::string live_event_frame(const LiveView& view);

}  // namespace talkgate::status
