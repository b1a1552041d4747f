#pragma once

#include "hep_forwarder.hpp"
#include "hep_intake.hpp"
#include "notify_event.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace talkgate::intake {

struct HepListenerSettings {
    std::string listen_host = "127.0.0.1";  // loopback by default: HEP carries no encryption
    unsigned short listen_port = 9060;      // 0 picks a free port (tests)
    HepIntakeSettings intake;
    // At most one log line per reject reason per interval (plus how many were suppressed).
    std::chrono::milliseconds reject_log_interval{10000};
    // Told of every rejected datagram on the io_context's thread (e.g. to count it); may be empty.
    std::function<void(HepReject)> on_reject;
    // Runs once per exception a datagram's handling or a handler threw (e.g. to count it).
    std::function<void()> on_handler_error;
    // HEP_FORWARD: every datagram from an allowed capture agent (with the right password) goes
    // on unchanged to these targets, after the NOTIFY it carries was handled.
    HepForwardSettings forward;
};

// Receives Asterisk's HEP v3 copies of SIP (res_hep_pjsip) on a UDP socket and turns each
// Genesys NOTIFY transaction into one NotifyEvent, delivered to `on_notify` on the
// io_context's thread. Retransmissions are dropped by its own NotifyDeduplicator unless
// HepIntakeSettings::deduplicate is off: the controller turns it off and passes HEP, AMI and ARI
// through one de-duplicator (NotifyGate), so each NOTIFY acts once whatever brought it.
class HepListener {
  public:
    using NotifyHandler = std::function<void(NotifyEvent)>;

    HepListener(boost::asio::io_context& io, HepListenerSettings settings, NotifyHandler on_notify);
    ~HepListener();  // stops receiving
    HepListener(const HepListener&) = delete;
    HepListener& operator=(const HepListener&) = delete;

    // Binds and starts receiving; an error when the address is bad or the port is taken.
    boost::system::error_code start();
    // Closes the socket (on the io_context); no handler starts after it. Any thread.
    void stop();
    // The bound address (to learn the port chosen for listen_port 0).
    boost::asio::ip::udp::endpoint local_endpoint() const;
    // A consistent copy of the counters; any thread.
    HepCounters counters() const;

  private:
    class Impl;
    std::shared_ptr<Impl> impl_;  // shared with pending receives, which may outlive this object
};

}  // namespace talkgate::intake
