#include "ha/gateway_lease.hpp"

#include <spdlog/spdlog.h>

#include <utility>

namespace talkgate::ha {

namespace {

// Atomically: the lease is free -> a new fence and the lease with its ttl; returns the fence,
// or 0 when someone holds it. The fence never goes below the caller's last one (ARGV[3]), even
// when Redis lost its keys.
const char* const kAcquire =
    "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end "
    "local fence = redis.call('INCR', KEYS[2]) "
    "if fence <= tonumber(ARGV[3]) then "
    "fence = tonumber(ARGV[3]) + 1 redis.call('SET', KEYS[2], fence) end "
    "redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. fence, 'PX', ARGV[2]) "
    "return fence";

// Atomically: still ours -> a new ttl (1); gone -> -1; another holder -> 0.
const char* const kRenew =
    "local v = redis.call('GET', KEYS[1]) "
    "if not v then return -1 end "
    "if v == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end "
    "return 0";

// Atomically: still ours -> deleted (1); else untouched (0).
const char* const kRelease =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
    "return 0";

}  // namespace

GatewayLease::GatewayLease(boost::asio::io_context& io, std::shared_ptr<RedisClient> redis,
                           Options options, Hooks hooks)
    : io_(io), redis_(std::move(redis)), options_(std::move(options)), hooks_(std::move(hooks)) {}

void GatewayLease::start() {
    schedule(std::chrono::milliseconds(0));
}

void GatewayLease::stop(std::function<void()> then) {
    const bool was_stopped = std::exchange(stopped_, true);
    timer_.cancel();
    if (was_stopped || !active_ || lost_ || !redis_->up()) {
        if (then) then();
        return;
    }
    active_ = false;
    const std::string value = options_.holder + " " + std::to_string(fence_.load());
    redis_->command({"EVAL", kRelease, "1", options_.key, value},
                    [key = options_.key, then](std::optional<RedisReply> r, const std::string&) {
                        if (r && r->type == RedisReply::Type::integer && r->integer == 1)
                            spdlog::info("lease {} handed back", key);
                        if (then) then();
                    });
}

void GatewayLease::redis_state(bool up) {
    redis_up_ = up;
    if (up) {
        standby_hold_off_ = std::chrono::steady_clock::now() + options_.ttl;
        if (active_)
            spdlog::info("Redis back: renewing the lease of {} (fence {})", options_.key,
                         fence_.load());
        else
            spdlog::info("Redis connected: standby for {}; trying the lease in {} ms", options_.key,
                         options_.ttl.count());
        schedule(std::chrono::milliseconds(0));
    } else if (active_) {
        spdlog::warn("Redis unreachable: this talkgate keeps the ARI app of {} and serves alone",
                     options_.key);
    } else {
        spdlog::warn("Redis unreachable: standby for {} until it is back", options_.key);
    }
}

void GatewayLease::schedule(std::chrono::milliseconds after) {
    if (stopped_ || lost_) return;
    timer_.expires_after(after);
    std::weak_ptr<GatewayLease> weak = shared_from_this();
    timer_.async_wait([weak](const boost::system::error_code& ec) {
        if (auto s = weak.lock(); s && !ec) s->tick();
    });
}

void GatewayLease::tick() {
    if (stopped_ || lost_) return;
    if (!in_flight_ && redis_->up()) {
        if (active_)
            renew();
        else if (std::chrono::steady_clock::now() >= standby_hold_off_)
            try_acquire();
    }
    // A standby asks at the same pace: a free lease is found at most this late.
    schedule(renew_interval());
}

void GatewayLease::try_acquire() {
    in_flight_ = true;
    std::weak_ptr<GatewayLease> weak = shared_from_this();
    redis_->command({"EVAL", kAcquire, "2", options_.key, options_.fence_key, options_.holder,
                     std::to_string(options_.ttl.count()), std::to_string(fence_.load())},
                    [weak](std::optional<RedisReply> r, const std::string& error) {
                        auto s = weak.lock();
                        if (!s) return;
                        s->in_flight_ = false;
                        if (!r || r->type != RedisReply::Type::integer) {
                            spdlog::warn("lease {}: acquire failed: {}", s->options_.key,
                                         r ? r->text.substr(0, 120) : error);
                            return;
                        }
                        if (r->integer > 0 && !s->stopped_) s->become_active(r->integer);
                    });
}

void GatewayLease::renew() {
    in_flight_ = true;
    std::weak_ptr<GatewayLease> weak = shared_from_this();
    const std::string value = options_.holder + " " + std::to_string(fence_.load());
    redis_->command(
        {"EVAL", kRenew, "1", options_.key, value, std::to_string(options_.ttl.count())},
        [weak](std::optional<RedisReply> r, const std::string& error) {
            auto s = weak.lock();
            if (!s) return;
            s->in_flight_ = false;
            if (!r || r->type != RedisReply::Type::integer) {
                // Redis slow or gone: keep serving; the next tick tries again.
                spdlog::warn("lease {}: renew failed: {}", s->options_.key,
                             r ? r->text.substr(0, 120) : error);
                return;
            }
            if (r->integer == 1) return;
            if (r->integer == -1) {
                // Redis lost the key (restarted empty, or it expired while Redis was away):
                // nobody else took it, so take it again under a new fence.
                spdlog::warn("lease {}: gone from Redis; taking it again", s->options_.key);
                s->try_acquire();
                return;
            }
            s->lost_ = true;
            s->active_ = false;
            const std::string why = "another talkgate holds the lease " + s->options_.key;
            spdlog::error("{}: stepping down", why);
            if (s->hooks_.lost) s->hooks_.lost(why);
        });
}

void GatewayLease::become_active(std::int64_t fence) {
    const bool was_active = active_.exchange(true);
    fence_ = fence;
    spdlog::info("lease {}: {} (fence {})", options_.key,
                 was_active ? "taken again" : "acquired: this talkgate is active", fence);
    if (!was_active && hooks_.acquired) hooks_.acquired(fence);
}

}  // namespace talkgate::ha
