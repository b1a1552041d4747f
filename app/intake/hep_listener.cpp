#include "hep_listener.hpp"

#include "logging/handler_guard.hpp"
#include "wire/wire_text.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include <array>
#include <atomic>
#include <mutex>

namespace talkgate::intake {

namespace {

IpAddress to_ip(const boost::asio::ip::address& a) {
    IpAddress ip;
    if (a.is_v4()) {
        const auto b = a.to_v4().to_bytes();
        ip.family = IpAddress::Family::v4;
        std::copy(b.begin(), b.end(), ip.bytes.begin());
    } else if (a.to_v6().is_v4_mapped()) {
        return to_ip(boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6()));
    } else {
        const auto b = a.to_v6().to_bytes();
        ip.family = IpAddress::Family::v6;
        std::copy(b.begin(), b.end(), ip.bytes.begin());
    }
    return ip;
}

}  // namespace

class HepListener::Impl : public std::enable_shared_from_this<Impl> {
  public:
    Impl(boost::asio::io_context& io, HepListenerSettings settings, NotifyHandler on_notify)
        : io_(io),
          socket_(io),
          settings_(std::move(settings)),
          on_notify_(std::move(on_notify)),
          intake_(settings_.intake) {}

    boost::system::error_code start() {
        boost::system::error_code ec;
        const auto address = boost::asio::ip::make_address(settings_.listen_host, ec);
        if (ec) return ec;
        const boost::asio::ip::udp::endpoint ep(address, settings_.listen_port);
        socket_.open(ep.protocol(), ec);
        if (!ec) {
            // Asterisk copies every SIP message: a burst (100 calls/s is ~900 datagrams/s)
            // overflowed the 208 KB default and lost NOTIFY copies in the load test. The kernel
            // caps the request at net.core.rmem_max; what it granted is logged.
            boost::system::error_code ignored;
            socket_.set_option(boost::asio::socket_base::receive_buffer_size(4 << 20), ignored);
            socket_.bind(ep, ec);
        }
        if (ec) {
            boost::system::error_code ignored;
            socket_.close(ignored);
            return ec;
        }
        if (!settings_.forward.targets.empty()) {
            forwarder_ = std::make_shared<HepForwarder>(io_, settings_.forward);
            if (auto fec = forwarder_->open()) {
                boost::system::error_code ignored;
                socket_.close(ignored);
                return fec;
            }
        }
        local_ = socket_.local_endpoint(ec);
        boost::asio::socket_base::receive_buffer_size granted;
        boost::system::error_code ignored;
        socket_.get_option(granted, ignored);
        spdlog::info(
            "HEP: listening on {}:{} (receive buffer {} KB) for {} Genesys SIP host(s){}",
            local_.address().to_string(), local_.port(), granted.value() / 1024,
            settings_.intake.genesys_hosts.size(),
            settings_.intake.capture_password.empty() ? "" : ", capture password required");
        receive();
        return {};
    }

    void stop() {
        stopped_ = true;
        boost::asio::post(io_, [self = shared_from_this()] {
            boost::system::error_code ignored;
            self->socket_.close(ignored);
            if (self->forwarder_) self->forwarder_->close();
        });
    }

    boost::asio::ip::udp::endpoint local_endpoint() const { return local_; }

    HepCounters counters() const {
        std::lock_guard<std::mutex> lock(counters_mu_);
        return snapshot_;
    }

  private:
    void receive() {
        socket_.async_receive_from(
            boost::asio::buffer(buffer_), sender_,
            [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                self->on_datagram(ec, n);
            });
    }

    void on_datagram(const boost::system::error_code& ec, std::size_t n) {
        if (stopped_ || ec == boost::asio::error::operation_aborted) return;
        if (ec) {
            // ICMP errors surface on UDP sockets as receive errors: keep listening.
            spdlog::warn("HEP: receive failed: {}", ec.message());
            receive();
            return;
        }
        // Whatever one datagram does, the listener goes on receiving.
        guarded("datagram", [&] { handle(n); });
        if (!stopped_) receive();
    }

    void handle(std::size_t n) {
        auto outcome = intake_.process(std::string_view(buffer_.data(), n),
                                       to_ip(sender_.address()), std::chrono::steady_clock::now());
        {
            std::lock_guard<std::mutex> lock(counters_mu_);
            snapshot_ = intake_.counters();
        }
        if (outcome.kind == HepIntake::Outcome::Kind::rejected) {
            log_reject(outcome);
            if (settings_.on_reject)
                guarded("reject handler", [&] { settings_.on_reject(outcome.reject); });
        }
        if (outcome.kind == HepIntake::Outcome::Kind::notify && on_notify_ && !stopped_) {
            deliver(std::move(*outcome.event));
        }
        // After the NOTIFY acted; never for a sender or password the intake refused, so
        // talkgate relays nothing a stranger sends it.
        const bool refused = outcome.kind == HepIntake::Outcome::Kind::rejected &&
                             (outcome.reject == HepReject::unknown_agent ||
                              outcome.reject == HepReject::bad_password);
        if (forwarder_ && !refused) forwarder_->forward(std::string_view(buffer_.data(), n));
    }

    void deliver(NotifyEvent event) {
        guarded("NotifyEvent handler", [&] { on_notify_(std::move(event)); });
    }

    // An exception must not escape into io_context::run and stop the application's loop.
    template <class F>
    void guarded(const char* what, F&& f) {
        guard_.run(what, std::forward<F>(f));
    }

    void log_reject(const HepIntake::Outcome& outcome) {
        auto& limit = reject_log_[static_cast<std::size_t>(outcome.reject)];
        const auto now = std::chrono::steady_clock::now();
        if (limit.logged && now - limit.last < settings_.reject_log_interval) {
            ++limit.suppressed;
            return;
        }
        spdlog::warn("HEP: rejected a datagram from {}: {}: {} ({} similar suppressed)",
                     sender_.address().to_string(), to_string(outcome.reject),
                     wire::escaped(outcome.detail), limit.suppressed);
        limit.logged = true;
        limit.last = now;
        limit.suppressed = 0;
    }

    struct RejectLog {
        bool logged = false;
        std::chrono::steady_clock::time_point last{};
        std::uint64_t suppressed = 0;
    };

    boost::asio::io_context& io_;
    boost::asio::ip::udp::socket socket_;
    HepListenerSettings settings_;
    NotifyHandler on_notify_;
    logging::HandlerGuard guard_{"HEP", settings_.on_handler_error};  // counts handlers' throws
    HepIntake intake_;
    std::shared_ptr<HepForwarder> forwarder_;  // HEP_FORWARD; null without targets
    std::atomic<bool> stopped_{false};         // set from any thread by stop()
    boost::asio::ip::udp::endpoint local_;
    boost::asio::ip::udp::endpoint sender_;  // filled by the pending receive
    std::array<char, 65536> buffer_{};       // one datagram; the largest UDP payload fits
    std::array<RejectLog, kHepRejectCount> reject_log_{};  // rate limit per reason
    mutable std::mutex counters_mu_;  // guards snapshot_, read by other threads
    HepCounters snapshot_;
};

HepListener::HepListener(boost::asio::io_context& io, HepListenerSettings settings,
                         NotifyHandler on_notify)
    : impl_(std::make_shared<Impl>(io, std::move(settings), std::move(on_notify))) {}

HepListener::~HepListener() {
    impl_->stop();
}

boost::system::error_code HepListener::start() {
    return impl_->start();
}

void HepListener::stop() {
    impl_->stop();
}

boost::asio::ip::udp::endpoint HepListener::local_endpoint() const {
    return impl_->local_endpoint();
}

HepCounters HepListener::counters() const {
    return impl_->counters();
}

}  // namespace talkgate::intake
