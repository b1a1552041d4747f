#pragma once

#include "config/config.hpp"
#include "flow/call.hpp"
#include "intake/notify_deduplicator.hpp"
#include "intake/notify_event.hpp"
#include "logging/rate_limit.hpp"

#include <ari/events.hpp>

#include <functional>

namespace talkgate::ami {
class Message;
}
namespace talkgate::metrics {
struct TalkgateMetrics;
}

namespace talkgate::controller {

// Where NOTIFYs from every source meet (HEP, AMI and ARI user events): the talkgate-wide
// de-duplicator lets each act once, whatever source brought it first; what passes goes to the
// flow as a NotifyReceived. Malformed user events and dropped header values are counted here.
// On the io thread only.
class NotifyGate {
  public:
    using Deliver = std::function<void(flow::NotifyReceived)>;

    NotifyGate(const NotifySources& sources, metrics::TalkgateMetrics& metrics, Deliver deliver,
               intake::NotifyDeduplicator::Settings dedupe = {});

    void admit(intake::NotifyEvent n);
    // Told of each NOTIFY dropped as already seen (for the call's trace); unset: nobody.
    void on_duplicate(Deliver duplicate) { duplicate_ = std::move(duplicate); }
    // An AMI event: a GenesysNotify user event is admitted when NOTIFY_SOURCES has ami.
    void from_ami(const ami::Message& m);
    // An ARI event: true when it was a user event this gate took (NOTIFY_SOURCES has ari);
    // every other event is for the flow's translation.
    bool from_ari(const ari::Event& e);

  private:
    void user_event_rejected(const char* source, const std::string& why);

    NotifySources sources_;
    metrics::TalkgateMetrics& metrics_;
    Deliver deliver_;
    Deliver duplicate_;
    intake::NotifyDeduplicator dedupe_;      // across HEP, AMI and ARI: each NOTIFY acts once
    logging::RateLimit dropped_header_log_;  // one line per 10 s for NOTIFYs with bad values
    logging::RateLimit user_event_log_;      // one line per 10 s for malformed user events
};

// The flow's view of a NOTIFY the intake decoded.
flow::NotifyReceived to_flow(const intake::NotifyEvent& n);

}  // namespace talkgate::controller
