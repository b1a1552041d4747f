#include "controller/notify_gate.hpp"

#include "ami/message.hpp"
#include "intake/user_event_source.hpp"
#include "metrics/talkgate_metrics.hpp"
#include "wire/wire_text.hpp"

#include <spdlog/spdlog.h>

namespace talkgate::controller {

flow::NotifyReceived to_flow(const intake::NotifyEvent& n) {
    flow::NotifyReceived r;
    r.kind = n.kind;
    r.event_name = n.event;
    r.call_id = n.call_id;
    r.dn = n.dn;
    r.call_uuid = n.call_uuid;
    r.cseq = n.cseq;
    r.source = intake::to_string(n.source);
    r.received_at = n.received_at;
    r.from_channel = n.source != intake::NotifySource::hep;
    r.channel = n.channel;
    return r;
}

NotifyGate::NotifyGate(const NotifySources& sources, metrics::TalkgateMetrics& metrics,
                       Deliver deliver, intake::NotifyDeduplicator::Settings dedupe)
    : sources_(sources), metrics_(metrics), deliver_(std::move(deliver)), dedupe_(dedupe) {}

void NotifyGate::admit(intake::NotifyEvent n) {
    if (!n.dropped_header.empty()) {
        // The NOTIFY still acts (its Call-ID names the call); only the bad values are gone.
        metrics_.notify_rejected.labels({"bad_header"}).inc();
        std::uint64_t held_back = 0;
        if (dropped_header_log_.allow(held_back))
            spdlog::warn(
                "NOTIFY {} Call-ID={} from {}: dropped {} (not visible ASCII or too long); "
                "{} more since the last line",
                n.event, n.call_id, intake::to_string(n.source), n.dropped_header, held_back);
    }
    if (!dedupe_.first_seen(n)) {
        metrics_.notify_duplicates.labels({intake::to_string(n.source)}).inc();
        spdlog::debug("NOTIFY {} Call-ID={} CSeq={} from {} already seen: dropped", n.event,
                      n.call_id, n.cseq, intake::to_string(n.source));
        if (duplicate_) duplicate_(to_flow(n));
        return;
    }
    deliver_(to_flow(n));
}

void NotifyGate::from_ami(const ami::Message& m) {
    if (!sources_.ami) return;
    std::string err;
    if (auto n = intake::notify_from_ami_userevent(m.fields(), &err)) {
        admit(std::move(*n));
    } else if (!err.empty()) {
        user_event_rejected("AMI", err);
    }
}

bool NotifyGate::from_ari(const ari::Event& e) {
    if (!sources_.ari) return false;
    auto* ue = std::get_if<ari::ChannelUserevent>(&e);
    if (ue == nullptr) return false;
    std::string err;
    if (auto n = intake::notify_from_ari_userevent(ue->raw, &err)) {
        admit(std::move(*n));
    } else if (!err.empty()) {
        user_event_rejected("ARI", err);
    }
    return true;
}

void NotifyGate::user_event_rejected(const char* source, const std::string& why) {
    metrics_.notify_rejected.labels({"malformed_user_event"}).inc();
    std::uint64_t held_back = 0;
    if (user_event_log_.allow(held_back))
        spdlog::warn("{} GenesysNotify user event rejected: {} ({} more since the last line)",
                     source, wire::escaped(why), held_back);
}

}  // namespace talkgate::controller
