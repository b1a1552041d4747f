#include "controller/live_feed.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>

namespace talkgate::controller {

LiveFeed::LiveFeed(boost::asio::io_context& io, std::chrono::milliseconds interval,
                   std::shared_ptr<ari::HandlerGuard> guard, std::function<status::LiveView()> view)
    : timer_(io), interval_(interval), guard_(std::move(guard)), view_(std::move(view)) {}

void LiveFeed::watch(std::weak_ptr<status::LiveWatcher> watcher) {
    watchers_.push_back(std::move(watcher));
}

void LiveFeed::changed() {
    if (armed_ || stopped_) return;
    const bool watched = std::any_of(watchers_.begin(), watchers_.end(), [](const auto& w) {
        auto s = w.lock();
        return s && s->watching();
    });
    if (!watched) return;
    armed_ = true;
    timer_.expires_after(interval_);
    timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
        auto self = weak.lock();
        if (!self || ec) return;
        self->guard_->run("live feed", [&] { self->publish(); });
    });
}

void LiveFeed::publish() {
    armed_ = false;
    if (stopped_) return;
    watchers_.erase(std::remove_if(watchers_.begin(), watchers_.end(),
                                   [](const auto& w) { return w.expired(); }),
                    watchers_.end());
    std::vector<std::shared_ptr<status::LiveWatcher>> watching;
    for (const auto& w : watchers_) {
        if (auto s = w.lock(); s && s->watching()) watching.push_back(std::move(s));
    }
    if (watching.empty()) return;
    const status::LiveView view = view_();
    for (const auto& w : watching) w->changed(view);
}

void LiveFeed::stop() {
    stopped_ = true;
    // The timer belongs to the controller's thread; stop() may come from another one (a test's
    // main thread: TSan reported the race there).
    boost::asio::post(timer_.get_executor(), [weak = weak_from_this()] {
        if (auto self = weak.lock()) self->timer_.cancel();
    });
}

}  // namespace talkgate::controller
