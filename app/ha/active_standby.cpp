#include "ha/active_standby.hpp"

#include "controller/controller.hpp"
#include "metrics/talkgate_metrics.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include <unistd.h>

#include <fstream>
#include <random>

namespace talkgate::ha {

namespace {

// host:pid:random: unique per process, readable in redis-cli.
std::string holder_id() {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    std::random_device rd;
    const auto nonce = (static_cast<std::uint64_t>(rd()) << 32) | rd();
    char buf[32];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(nonce));
    return std::string(host) + ":" + std::to_string(::getpid()) + ":" + buf;
}

}  // namespace

// The braces are a Redis Cluster hash tag: a gateway's keys share one slot, as one EVAL needs.
std::string lease_key(const std::string& ari_app, const std::string& gateway_id) {
    return "talkgate:lease:{" + ari_app + "@" + gateway_id + "}";
}

ActiveStandby::ActiveStandby(boost::asio::io_context& io, const Config& config,
                             metrics::TalkgateMetrics& metrics, controller::Controller& controller,
                             std::function<void(int)> end_process)
    : io_(io),
      config_(config),
      metrics_(metrics),
      controller_(controller),
      end_process_(std::move(end_process)) {}

bool ActiveStandby::start(std::string& error) {
    std::string url_error;
    auto endpoint = parse_redis_url(config_.redis_url, url_error);
    if (!endpoint) {
        error = "REDIS_URL: " + url_error;
        return false;
    }
    RedisClient::Options ro;
    ro.endpoint = *endpoint;
    // A renewal must come back well before the lease could expire.
    ro.command_timeout = std::min(std::chrono::milliseconds(1000), config_.lease_ttl / 4);
    ro.connect_timeout = ro.command_timeout;
    ro.reconnect_max = std::min(std::chrono::milliseconds(2000), config_.lease_ttl / 2);
    ro.on_error = [&m = metrics_](const char* reason) { m.redis_errors.labels({reason}).inc(); };
    ro.on_handler_error = metrics_.handler_error_counter("redis");
    auto lease_slot = std::make_shared<std::weak_ptr<GatewayLease>>();
    bool seen_up = false;
    redis_ = std::make_shared<RedisClient>(
        io_, ro, [this, lease_slot, seen_up](bool up, const std::string&) mutable {
            metrics_.set_connection(metrics::Peer::redis, up);
            if (up && seen_up) metrics_.reconnected(metrics::Peer::redis);
            seen_up = seen_up || up;
            if (auto l = lease_slot->lock()) l->redis_state(up);
        });
    metrics_.set_connection(metrics::Peer::redis, false);
    metrics_.lease_active.labels({}).set(0);

    GatewayLease::Options lo;
    lo.key = lease_key(config_.ari_app, config_.gateway_id);
    lo.fence_key = lo.key + ":fence";
    lo.holder = holder_id();
    lo.ttl = config_.lease_ttl;
    GatewayLease::Hooks hooks;
    hooks.acquired = [this](std::int64_t fence) { activate(fence); };
    hooks.lost = [this](const std::string& why) {
        metrics_.lease_active.labels({}).set(0);
        spdlog::critical("{}: the calls stay in Asterisk for the active one; exiting ({})", why,
                         kSteppedDown);
        end_process_(kSteppedDown);
    };
    lease_ = std::make_shared<GatewayLease>(io_, redis_, lo, std::move(hooks));
    CallDirectory::Options co;
    co.gateway = config_.ari_app + "@" + config_.gateway_id;
    directory_ = std::make_shared<CallDirectory>(
        io_, redis_, co, [&c = controller_](auto done) { c.calls(std::move(done)); });
    *lease_slot = lease_;
    spdlog::info("standby for {} (Redis {}, lease ttl {} ms, holder {})", lo.key,
                 describe(*endpoint), lo.ttl.count(), lo.holder);
    redis_->start();
    lease_->start();
    return true;
}

void ActiveStandby::activate(std::int64_t fence) {
    metrics_.lease_active.labels({}).set(1);
    spdlog::info("active for gateway {} (fence {}): connecting to Asterisk and adopting its calls",
                 config_.gateway_id, fence);
    std::string error;
    if (!controller_.start(error)) {
        spdlog::critical("cannot start as active: {}", error);
        end_process_(1);
        return;
    }
    directory_->start_publishing(fence);
}

void ActiveStandby::stop() {
    if (!lease_) return;
    directory_->stop();
    // Redis closes once the lease is handed back (or that failed: each command has a deadline).
    lease_->stop([redis = redis_] { redis->stop(); });
}

void ActiveStandby::calls(std::function<void(std::vector<status::CallView>)> done) {
    controller_.calls(std::move(done));
}

void ActiveStandby::all_calls(std::function<void(std::vector<status::CallView>)> done) {
    // From the status API's thread: the directory and its Redis client live on the io thread.
    boost::asio::post(io_, [directory = directory_, done = std::move(done)]() mutable {
        if (directory)
            directory->all_calls(std::move(done));
        else
            done({});
    });
}

status::Readiness ActiveStandby::readiness() const {
    auto r = controller_.readiness();
    r.standby = !lease_ || !lease_->active();
    r.redis_configured = true;
    r.redis_up = redis_ && redis_->up();
    return r;
}

void ActiveStandby::request_answer(const std::string& dn,
                                   std::function<void(status::AnswerOutcome, std::string)> done) {
    controller_.request_answer(dn, std::move(done));
}

void ActiveStandby::trace(const std::string& id,
                          std::function<void(std::optional<status::TraceView>)> done) {
    controller_.trace(id, std::move(done));
}

void ActiveStandby::live(std::function<void(status::LiveView)> done) {
    controller_.live(std::move(done));
}

void ActiveStandby::watch(std::weak_ptr<status::LiveWatcher> watcher) {
    controller_.watch(std::move(watcher));
}

void ActiveStandby::recent_calls(std::function<void(std::vector<status::RecentCallView>)> done) {
    controller_.recent_calls(std::move(done));
}

}  // namespace talkgate::ha
