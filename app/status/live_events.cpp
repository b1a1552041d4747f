#include "status/live_events.hpp"

#include "status/status_json.hpp"
#include "wire/json_text.hpp"

#include <pplx/threadpool.h>
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include <cstring>

namespace talkgate::status {

namespace {

// The buffer's tasks are done when returned; observed all the same, since an unobserved
// exception in a pplx task ends the process.
template <class T>
void observe(pplx::task<T> t) {
    t.then([](pplx::task<T> done) {
        try {
            done.wait();
        } catch (...) {
        }
    });
}

// A producer_consumer_buffer that counts what its reader took.
class CountedBody
    : public concurrency::streams::details::basic_producer_consumer_buffer<std::uint8_t> {
  public:
    explicit CountedBody(std::shared_ptr<std::atomic<std::size_t>> consumed)
        : basic_producer_consumer_buffer(512), consumed_(std::move(consumed)) {}

  protected:
    pplx::task<std::size_t> _getn(std::uint8_t* ptr, std::size_t count) override {
        return basic_producer_consumer_buffer::_getn(ptr, count)
            .then([consumed = consumed_](std::size_t n) {
                consumed->fetch_add(n);
                return n;
            });
    }
    std::size_t _sgetn(std::uint8_t* ptr, std::size_t count) override {
        const std::size_t n = basic_producer_consumer_buffer::_sgetn(ptr, count);
        if (n != static_cast<std::size_t>(traits::requires_async())) consumed_->fetch_add(n);
        return n;
    }

  private:
    std::shared_ptr<std::atomic<std::size_t>> consumed_;
};

}  // namespace

std::string live_event_frame(const LiveView& view) {
    // json_text escapes control characters: the data line holds no newline.
    return "event: view\nid: " + std::to_string(view.seq) +
           "\ndata: " + wire::json_text(to_json(view)) + "\n\n";
}

LiveEvents::LiveEvents(Limits limits, std::shared_ptr<logging::HandlerGuard> guard)
    : limits_(limits),
      guard_(std::move(guard)),
      heartbeat_(crossplat::threadpool::shared_instance().service()) {}

LiveEvents::~LiveEvents() {
    close_all();
}

std::optional<std::pair<std::uint64_t, LiveEvents::Body>> LiveEvents::open() {
    std::lock_guard<std::mutex> lock(mutex_);
    prune();
    if (closed_ || clients_.size() >= limits_.max_clients) return std::nullopt;
    const std::uint64_t id = next_id_++;
    ++replying_;
    auto consumed = std::make_shared<std::atomic<std::size_t>>(0);
    Client& c =
        clients_.emplace(id, Client{Body(std::make_shared<CountedBody>(consumed)), consumed})
            .first->second;
    // The browser's EventSource waits this long before it reconnects.
    write(id, c, "retry: 3000\n\n");
    if (clients_.size() == 1) arm_heartbeat();
    return std::make_pair(id, c.body);
}

void LiveEvents::gone(std::uint64_t id) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (replying_ > 0 && --replying_ == 0) all_ended_.notify_all();
    auto it = clients_.find(id);
    if (it == clients_.end()) return;
    end(it->second);
    clients_.erase(it);
}

bool LiveEvents::wait_ended(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    return all_ended_.wait_for(lock, timeout, [this] { return replying_ == 0; });
}

void LiveEvents::send_to(std::uint64_t id, const LiveView& view) {
    const std::string frame = live_event_frame(view);
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = clients_.find(id);
    if (it == clients_.end() || it->second.seq >= view.seq) return;
    it->second.seq = view.seq;
    write(id, it->second, frame);
}

void LiveEvents::close_all() {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    for (auto& [id, c] : clients_) end(c);
    clients_.clear();
    heartbeat_.cancel();
}

std::size_t LiveEvents::clients() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::size_t open = 0;
    for (const auto& [id, c] : clients_) open += c.open ? 1 : 0;
    return open;
}

void LiveEvents::prune() {
    for (auto it = clients_.begin(); it != clients_.end();)
        it = it->second.open ? std::next(it) : clients_.erase(it);
}

std::uint64_t LiveEvents::dropped() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return dropped_;
}

bool LiveEvents::watching() const {
    return clients() > 0;
}

void LiveEvents::changed(LiveView view) {
    // Off the controller's thread: formatting and copying cost it nothing.
    boost::asio::post(crossplat::threadpool::shared_instance().service(),
                      [weak = weak_from_this(), view = std::move(view)] {
                          if (auto self = weak.lock())
                              self->guard_->run("live view", [&] { self->broadcast(view); });
                      });
}

void LiveEvents::broadcast(const LiveView& view) {
    const std::string frame = live_event_frame(view);
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = clients_.begin(); it != clients_.end();) {
        Client& c = it->second;
        if (c.open && c.seq < view.seq) {
            c.seq = view.seq;
            write(it->first, c, frame);
        }
        ++it;
    }
    prune();
}

void LiveEvents::write(std::uint64_t id, Client& c, const std::string& frame) {
    if (!c.open) return;
    const std::size_t unread = c.written - std::min(c.written, c.consumed->load());
    if (unread + frame.size() > limits_.max_backlog_bytes) {
        ++dropped_;
        spdlog::warn("status: GET /events client {} dropped: {} bytes unread", id, unread);
        end(c);
        return;
    }
    auto* at = c.body.alloc(frame.size());
    if (at == nullptr) return;
    std::memcpy(at, frame.data(), frame.size());
    c.body.commit(frame.size());
    c.written += frame.size();
    // The response's reader waits for a full chunk unless the buffer is synced: one per frame.
    observe(c.body.sync());
}

void LiveEvents::end(Client& c) {
    if (!c.open) return;
    c.open = false;
    observe(c.body.close(std::ios_base::out));
}

void LiveEvents::arm_heartbeat() {
    heartbeat_.expires_after(limits_.heartbeat);
    heartbeat_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
        auto self = weak.lock();
        if (ec || !self) return;
        self->guard_->run("live heartbeat", [&] {
            std::lock_guard<std::mutex> lock(self->mutex_);
            self->prune();
            if (self->closed_ || self->clients_.empty()) return;
            for (auto& [id, c] : self->clients_) self->write(id, c, ": keepalive\n\n");
            self->arm_heartbeat();
        });
    });
}

}  // namespace talkgate::status
