#pragma once

#include "metrics/registry.hpp"

#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace talkgate::metrics {

// The peers whose connection state talkgate exports (label `peer`).
enum class Peer { ari, ami, hep, redis };
const char* to_string(Peer peer);

// How an answer/hold request was sent to the agent side (label `path`).
enum class AnswerPath { pjsip_notify, bridge_answer, bridge_notify };
const char* to_string(AnswerPath path);

// What came of it (label `outcome`).
enum class ActionOutcome { ok, error, timeout };
const char* to_string(ActionOutcome outcome);

// Every metric talkgate exports, registered in one registry. The families are public for
// labels not covered by a method; methods cover the hot paths with pre-resolved children, so
// they take no lock. Every method is thread-safe.
struct TalkgateMetrics {
    TalkgateMetrics();
    TalkgateMetrics(const TalkgateMetrics&) = delete;
    TalkgateMetrics& operator=(const TalkgateMetrics&) = delete;

    Registry registry;

    Family<Counter>& notify_received;               // talkgate_notify_received_total{event,source}
    Family<Counter>& notify_duplicates;             // talkgate_notify_duplicates_total{source}
    Family<Counter>& notify_unmatched;              // talkgate_notify_unmatched_total{event}
    Family<Counter>& notify_rejected;               // talkgate_notify_rejected_total{reason}
    Family<Counter>& answer_actions;                // talkgate_answer_actions_total{path,outcome}
    Family<Histogram>& bridge_api_request_seconds;  // {endpoint}
    Family<Histogram>& notify_to_answer_command_seconds;
    Family<Histogram>& notify_to_genesys_answered_seconds;
    Family<Gauge>& active_calls;          // talkgate_active_calls
    Family<Counter>& calls;               // talkgate_calls_total{outcome}
    Family<Gauge>& connection_up;         // talkgate_connection_up{peer}
    Family<Counter>& reconnects;          // talkgate_reconnects_total{peer}
    Family<Counter>& events_dropped;      // talkgate_events_dropped_total{source}
    Family<Counter>& resync_repairs;      // talkgate_resync_repairs_total{action}
    Family<Counter>& bridge_api_refused;  // talkgate_bridge_api_refused_total{reason}
    Family<Counter>& handler_errors;      // talkgate_handler_errors_total{component}
    Family<Counter>& hep_forwarded;       // talkgate_hep_forwarded_total{target,outcome}
    Family<Gauge>& lease_active;          // talkgate_lease_active: 1 active, 0 standby (Redis)
    Family<Counter>& redis_errors;        // talkgate_redis_errors_total{reason}

    // event is folded to talk|hold|other so a peer cannot grow the label set without bound.
    void notify(const std::string& event, const std::string& source);
    void answer_action(AnswerPath path, ActionOutcome outcome);
    void set_connection(Peer peer, bool up);
    void reconnected(Peer peer);
    void observe_notify_to_answer_command(double seconds);
    void observe_notify_to_genesys_answered(double seconds);
    void set_active_calls(std::int64_t n);
    // A client's own count of events it dropped since start: events_dropped{source} moves by
    // what is new since the last call. Returns that increase.
    std::uint64_t events_dropped_since_start(const std::string& source, std::uint64_t total);
    // What a component's handler guard runs per exception: handler_errors{component} + 1.
    std::function<void()> handler_error_counter(const std::string& component);

    static std::string fold_event(const std::string& event);

  private:
    std::array<std::array<Counter*, 3>, 3> notify_children_{};  // [talk|hold|other][hep|ami|ari]
    std::array<std::array<Counter*, 3>, 3> answer_children_{};  // [path][outcome]
    // [peer]; hep's and redis's made at their first set
    std::array<std::atomic<Gauge*>, 4> connection_children_{};
    std::array<Counter*, 4> reconnect_children_{};  // [peer]
    Histogram* to_answer_command_ = nullptr;
    Histogram* to_genesys_answered_ = nullptr;
    Gauge* active_ = nullptr;
    std::mutex drops_mu_;                                 // guards drops_counted_
    std::map<std::string, std::uint64_t> drops_counted_;  // per source, already in the family
};

}  // namespace talkgate::metrics
