#include "intake/hep_forwarder.hpp"

#include <spdlog/spdlog.h>

namespace talkgate::intake {

const char* to_string(ForwardOutcome outcome) {
    switch (outcome) {
        case ForwardOutcome::sent:
            return "sent";
        case ForwardOutcome::dropped:
            return "dropped";
        case ForwardOutcome::error:
            return "error";
    }
    return "?";
}

HepForwarder::HepForwarder(boost::asio::io_context& io, HepForwardSettings settings)
    : io_(io), settings_(std::move(settings)) {}

boost::system::error_code HepForwarder::open() {
    for (const auto& ep : settings_.targets) {
        auto t = std::make_unique<Target>(io_);
        boost::system::error_code ec;
        t->socket.open(ep.protocol(), ec);
        if (!ec) t->socket.connect(ep, ec);
        if (ec) return ec;
        targets_.push_back(std::move(t));
    }
    return {};
}

void HepForwarder::forward(std::string_view datagram) {
    if (closed_ || targets_.empty()) return;
    auto copy = std::make_shared<const std::string>(datagram);  // one copy for every target
    for (std::size_t i = 0; i < targets_.size(); ++i) {
        Target& t = *targets_[i];
        if (t.queue.size() >= settings_.queue_limit) {
            outcome(i, ForwardOutcome::dropped);
            continue;
        }
        t.queue.push_back(copy);
        if (t.queue.size() == 1) send_front(i);
    }
}

void HepForwarder::send_front(std::size_t i) {
    Target& t = *targets_[i];
    auto data = t.queue.front();
    t.socket.async_send(
        boost::asio::buffer(*data),
        [self = shared_from_this(), i, data](const boost::system::error_code& ec, std::size_t) {
            if (self->closed_) return;
            Target& t = *self->targets_[i];
            // ECONNREFUSED here is the ICMP "port unreachable" an earlier datagram got.
            self->outcome(i, ec ? ForwardOutcome::error : ForwardOutcome::sent);
            t.queue.pop_front();
            if (!t.queue.empty()) self->send_front(i);
        });
}

void HepForwarder::outcome(std::size_t i, ForwardOutcome o) {
    if (!settings_.on_outcome) return;
    try {
        settings_.on_outcome(i, o);
    } catch (const std::exception& e) {
        spdlog::error("HEP forward: outcome handler threw: {}", e.what());
    } catch (...) {
        spdlog::error("HEP forward: outcome handler threw a non-standard exception");
    }
}

void HepForwarder::close() {
    closed_ = true;
    for (auto& t : targets_) {
        boost::system::error_code ignored;
        t->socket.close(ignored);
        t->queue.clear();
    }
}

}  // namespace talkgate::intake
