#pragma once

#include "status/status_source.hpp"

#include <ari/handler_guard.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <vector>

namespace talkgate::controller {

// Tells the live web page's watchers that calls changed: a burst of changes becomes one view,
// built at most once per `interval` and only while someone watches (else a change costs a
// flag). Runs on the controller's thread, the one owner of call state.
class LiveFeed : public std::enable_shared_from_this<LiveFeed> {
  public:
    LiveFeed(boost::asio::io_context& io, std::chrono::milliseconds interval,
             std::shared_ptr<ari::HandlerGuard> guard, std::function<status::LiveView()> view);

    void watch(std::weak_ptr<status::LiveWatcher> watcher);
    void changed();
    void stop();

  private:
    void publish();

    boost::asio::steady_timer timer_;
    std::chrono::milliseconds interval_;
    std::shared_ptr<ari::HandlerGuard> guard_;
    std::function<status::LiveView()> view_;  // builds the view from the call registry
    std::vector<std::weak_ptr<status::LiveWatcher>> watchers_;
    bool armed_ = false;                // a publish is scheduled: further changes ride along
    std::atomic<bool> stopped_{false};  // stop() may come from another thread
};

}  // namespace talkgate::controller
