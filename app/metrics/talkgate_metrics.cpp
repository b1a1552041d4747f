#include "metrics/talkgate_metrics.hpp"

#include <cctype>

namespace talkgate::metrics {

const char* to_string(Peer peer) {
    switch (peer) {
        case Peer::ari:
            return "ari";
        case Peer::ami:
            return "ami";
        case Peer::hep:
            return "hep";
        case Peer::redis:
            return "redis";
    }
    return "unknown";
}

const char* to_string(AnswerPath path) {
    switch (path) {
        case AnswerPath::pjsip_notify:
            return "pjsip_notify";
        case AnswerPath::bridge_answer:
            return "bridge_answer";
        case AnswerPath::bridge_notify:
            return "bridge_notify";
    }
    return "unknown";
}

const char* to_string(ActionOutcome outcome) {
    switch (outcome) {
        case ActionOutcome::ok:
            return "ok";
        case ActionOutcome::error:
            return "error";
        case ActionOutcome::timeout:
            return "timeout";
    }
    return "unknown";
}

namespace {

// Which of talk, hold, other an event is, case-insensitively and without allocating.
std::size_t event_index(const std::string& event) {
    auto is = [&](const char* word) {
        if (event.size() != 4) return false;
        for (std::size_t i = 0; i < 4; ++i) {
            if (std::tolower(static_cast<unsigned char>(event[i])) != word[i]) return false;
        }
        return true;
    };
    return is("talk") ? 0 : is("hold") ? 1 : 2;
}

const char* const folded_events[] = {"talk", "hold", "other"};

// NOTIFY to answer command is sub-millisecond to a few ms; Genesys answered includes the
// agent's SIP round trips, so it reaches seconds.
std::vector<double> command_buckets() {
    return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};
}
std::vector<double> answered_buckets() {
    return {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30};
}

}  // namespace

TalkgateMetrics::TalkgateMetrics()
    : notify_received(registry.counter("talkgate_notify_received_total",
                                       "Genesys NOTIFYs received, by event package and source",
                                       {"event", "source"})),
      notify_duplicates(registry.counter("talkgate_notify_duplicates_total",
                                         "Retransmitted or duplicate NOTIFYs dropped", {"source"})),
      notify_unmatched(registry.counter("talkgate_notify_unmatched_total",
                                        "NOTIFYs that matched no known call", {"event"})),
      notify_rejected(registry.counter("talkgate_notify_rejected_total",
                                       "NOTIFYs rejected or values dropped at the edge, by reason",
                                       {"reason"})),
      answer_actions(registry.counter(
          "talkgate_answer_actions_total",
          "Answer/hold requests sent to the agent side, by path and outcome", {"path", "outcome"})),
      bridge_api_request_seconds(registry.histogram("talkgate_bridge_api_request_seconds",
                                                    "Bridge API request duration in seconds",
                                                    {"endpoint"}, latency_buckets())),
      notify_to_answer_command_seconds(
          registry.histogram("talkgate_notify_to_answer_command_seconds",
                             "Seconds from NOTIFY talk received to the first answer command sent",
                             {}, command_buckets())),
      notify_to_genesys_answered_seconds(registry.histogram(
          "talkgate_notify_to_genesys_answered_seconds",
          "Seconds from NOTIFY talk received to the Genesys leg answered", {}, answered_buckets())),
      active_calls(registry.gauge("talkgate_active_calls", "Calls currently tracked")),
      calls(registry.counter("talkgate_calls_total", "Calls ended, by outcome", {"outcome"})),
      connection_up(registry.gauge("talkgate_connection_up",
                                   "1 when the connection to the peer is up, else 0", {"peer"})),
      reconnects(registry.counter("talkgate_reconnects_total",
                                  "Reconnections after a lost connection, by peer", {"peer"})),
      events_dropped(registry.counter(
          "talkgate_events_dropped_total",
          "Events dropped unread (queue full, malformed, oversized), by source", {"source"})),
      resync_repairs(registry.counter("talkgate_resync_repairs_total",
                                      "Registry repairs made by a resync after a reconnect",
                                      {"action"})),
      bridge_api_refused(
          registry.counter("talkgate_bridge_api_refused_total",
                           "Bridge API calls not made: no registered contact, or its host outside "
                           "BRIDGE_API_CONTACT_ALLOW",
                           {"reason"})),
      handler_errors(registry.counter(
          "talkgate_handler_errors_total",
          "Exceptions caught in a handler or callback and logged (each is a bug), by component",
          {"component"})),
      hep_forwarded(registry.counter(
          "talkgate_hep_forwarded_total",
          "HEP datagrams passed on to HEP_FORWARD targets, by target and outcome (sent, dropped: "
          "queue full, error: e.g. ICMP unreachable)",
          {"target", "outcome"})),
      lease_active(registry.gauge(
          "talkgate_lease_active",
          "1 while this talkgate holds its gateway's lease in Redis (active), 0 as standby; only "
          "with REDIS_URL")),
      redis_errors(registry.counter(
          "talkgate_redis_errors_total",
          "Redis failures, by reason (connect, auth, timeout, protocol, closed)", {"reason"})) {
    // Children that exist from the start, so dashboards show 0 rather than "no data".
    for (auto p :
         {AnswerPath::pjsip_notify, AnswerPath::bridge_answer, AnswerPath::bridge_notify}) {
        for (auto o : {ActionOutcome::ok, ActionOutcome::error, ActionOutcome::timeout}) {
            answer_children_[static_cast<std::size_t>(p)][static_cast<std::size_t>(o)] =
                &answer_actions.labels({to_string(p), to_string(o)});
        }
    }
    for (auto p : {Peer::ari, Peer::ami, Peer::hep, Peer::redis}) {
        // HEP's and Redis's series appear once they are started: a 0 for an unconfigured peer
        // would fire the PeerDown alert forever.
        if (p != Peer::hep && p != Peer::redis)
            connection_children_[static_cast<std::size_t>(p)] =
                &connection_up.labels({to_string(p)});
        reconnect_children_[static_cast<std::size_t>(p)] = &reconnects.labels({to_string(p)});
    }
    for (const char* source : {"ari", "ami"}) events_dropped.labels({source});
    const char* sources[] = {"hep", "ami", "ari"};
    for (std::size_t e = 0; e < 3; ++e) {
        for (std::size_t src = 0; src < 3; ++src) {
            notify_children_[e][src] = &notify_received.labels({folded_events[e], sources[src]});
        }
    }
    to_answer_command_ = &notify_to_answer_command_seconds.labels({});
    to_genesys_answered_ = &notify_to_genesys_answered_seconds.labels({});
    active_ = &active_calls.labels({});
}

std::string TalkgateMetrics::fold_event(const std::string& event) {
    return folded_events[event_index(event)];
}

void TalkgateMetrics::notify(const std::string& event, const std::string& source) {
    std::size_t e = event_index(event);
    std::size_t src = source == "hep" ? 0 : source == "ami" ? 1 : source == "ari" ? 2 : 3;
    // The usual sources skip the label look-up; any other one still gets its own series.
    if (src < 3) {
        notify_children_[e][src]->inc();
    } else {
        notify_received.labels({folded_events[e], source}).inc();
    }
}

void TalkgateMetrics::answer_action(AnswerPath path, ActionOutcome outcome) {
    answer_children_[static_cast<std::size_t>(path)][static_cast<std::size_t>(outcome)]->inc();
}

void TalkgateMetrics::set_connection(Peer peer, bool up) {
    auto& slot = connection_children_[static_cast<std::size_t>(peer)];
    Gauge* child = slot.load(std::memory_order_acquire);
    if (!child) {
        // labels() hands every caller the same child, so a race only repeats the look-up.
        child = &connection_up.labels({to_string(peer)});
        slot.store(child, std::memory_order_release);
    }
    child->set(up ? 1.0 : 0.0);
}

void TalkgateMetrics::reconnected(Peer peer) {
    reconnect_children_[static_cast<std::size_t>(peer)]->inc();
}

void TalkgateMetrics::observe_notify_to_answer_command(double seconds) {
    to_answer_command_->observe(seconds);
}

void TalkgateMetrics::observe_notify_to_genesys_answered(double seconds) {
    to_genesys_answered_->observe(seconds);
}

void TalkgateMetrics::set_active_calls(std::int64_t n) {
    active_->set(static_cast<double>(n));
}

std::uint64_t TalkgateMetrics::events_dropped_since_start(const std::string& source,
                                                          std::uint64_t total) {
    std::lock_guard lock(drops_mu_);
    auto& counted = drops_counted_[source];
    if (total <= counted) return 0;
    const std::uint64_t added = total - counted;
    events_dropped.labels({source}).inc(added);
    counted = total;
    return added;
}

std::function<void()> TalkgateMetrics::handler_error_counter(const std::string& component) {
    Counter& c = handler_errors.labels({component});
    return [&c] { c.inc(); };
}

}  // namespace talkgate::metrics
