#pragma once

#include "ha/redis_client.hpp"
#include "status/status_source.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace talkgate::ha {

// One view of many gateways: the active talkgate of each gateway publishes its live calls to
// Redis once a second, as one key with an expiry (a gateway whose active died drops out by
// itself), and any talkgate reads every gateway's back for GET /calls?scope=all. Keys:
// talkgate:calls:{<gateway>} (JSON: gateway, fence, published_ms, calls) and the set
// talkgate:gateways of the names. On the io thread.
class CallDirectory : public std::enable_shared_from_this<CallDirectory> {
  public:
    struct Options {
        std::string gateway;  // <ARI app>@<GATEWAY_ID>
        std::chrono::milliseconds period{1000};
        std::chrono::milliseconds expiry{3000};
    };
    using LocalCalls = std::function<void(std::function<void(std::vector<status::CallView>)>)>;

    CallDirectory(boost::asio::io_context& io, std::shared_ptr<RedisClient> redis, Options options,
                  LocalCalls local);

    // Publishes every period while active (fence: the lease's, for readers that compare).
    void start_publishing(std::int64_t fence);
    void stop();
    // While active this gateway's calls from the controller, every other gateway's (and, as a
    // standby, its own gateway's too) from Redis, none of those while Redis is down; each with
    // its gateway's name.
    void all_calls(std::function<void(std::vector<status::CallView>)> done);

  private:
    void publish();
    std::string key_of(const std::string& gateway) const;

    boost::asio::io_context& io_;
    std::shared_ptr<RedisClient> redis_;
    Options options_;
    LocalCalls local_;
    boost::asio::steady_timer timer_{io_};
    std::int64_t fence_ = 0;
    bool publishing_ = false;
    bool stopped_ = false;
};

// The JSON a gateway publishes, and back; calls that do not parse are left out, never thrown.
std::string published_calls(const std::string& gateway, std::int64_t fence,
                            std::int64_t published_ms, const std::vector<status::CallView>& calls);
std::vector<status::CallView> calls_from_published(const std::string& text);

}  // namespace talkgate::ha
