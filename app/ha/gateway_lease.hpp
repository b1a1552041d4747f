#pragma once

#include "ha/redis_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace talkgate::ha {

// Which talkgate of a gateway holds its ARI app: a lease in Redis, set with expiry, renewed
// well inside it and fenced by a token that grows with every new holder.
//
// The rules (README, "Active and standby"):
// - standby: tries to take the lease every renew interval; after Redis (re)connects it first
//   waits one whole ttl, so an active that kept serving through the outage renews first;
// - active: renews every ttl/3 by compare-and-pexpire; a lease found missing (Redis restarted
//   empty, or it expired while Redis was away) is taken again at once; a lease found held by
//   another process means another controller was elected: this one steps down (on_lost);
// - Redis unreachable: an active keeps the app and serves alone; a standby stays standby.
// Everything on the io thread; the accessors from any thread.
class GatewayLease : public std::enable_shared_from_this<GatewayLease> {
  public:
    struct Options {
        std::string key;        // talkgate:lease:{<ARI app>@<gateway>}
        std::string fence_key;  // INCR'd at every new holder
        std::string holder;     // this process: host, pid and a random part
        std::chrono::milliseconds ttl{3000};
    };
    struct Hooks {
        std::function<void(std::int64_t fence)> acquired;  // this process is now active
        std::function<void(const std::string& why)> lost;  // another holds it: step down
    };

    GatewayLease(boost::asio::io_context& io, std::shared_ptr<RedisClient> redis, Options options,
                 Hooks hooks);

    void start();
    // No more tries or renewals; an active hands the lease back (compare-and-delete) so its
    // standby takes over at its next try instead of after the ttl. `then` runs once done.
    void stop(std::function<void()> then = nullptr);
    // RedisClient's state handler: the lease must hear of every (re)connect.
    void redis_state(bool up);

    bool active() const { return active_.load(); }
    std::int64_t fence() const { return fence_.load(); }
    bool redis_up() const { return redis_up_.load(); }
    std::chrono::milliseconds renew_interval() const { return options_.ttl / 3; }

  private:
    void tick();
    void schedule(std::chrono::milliseconds after);
    void try_acquire();
    void renew();
    void become_active(std::int64_t fence);

    boost::asio::io_context& io_;
    std::shared_ptr<RedisClient> redis_;
    Options options_;
    Hooks hooks_;
    boost::asio::steady_timer timer_{io_};
    std::atomic<bool> active_{false};
    std::atomic<bool> redis_up_{false};
    std::atomic<std::int64_t> fence_{0};
    bool stopped_ = false;
    bool in_flight_ = false;  // one lease command at a time
    bool lost_ = false;       // stepped down: nothing more to do
    // After a Redis (re)connect a standby leaves the lease alone until then.
    std::chrono::steady_clock::time_point standby_hold_off_{};
};

}  // namespace talkgate::ha
