#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

// The contract between the status API and the controller: the server asks, the controller
// answers through callbacks, so the server never blocks the controller's executor.
namespace talkgate::status {

struct CallView {
    std::string id, dn, state, call_id, call_uuid, genesys_channel, agent_channel, bridge, policy;
    std::int64_t created_ms = 0;
    std::optional<std::int64_t> ringing_ms, notify_talk_ms, answered_ms;
    bool held = false;
    std::string gateway;  // <ARI app>@<GATEWAY_ID> in a scope=all answer; empty otherwise
};

// One step of a call's ladder (see flow/call_trace.hpp); empty strings and 0 are "not given".
struct TraceStepView {
    double t_ms = 0;         // since the call was created, from the monotonic clock
    std::int64_t at_ms = 0;  // epoch milliseconds
    std::string step, event, source, outcome;
    int cause = 0;
    bool duplicate = false;
    std::optional<double> latency_ms;
};

// A call, live or ended, with its ladder.
struct TraceView {
    CallView call;
    bool live = true;
    std::string outcome;  // once ended
    std::optional<std::int64_t> ended_ms;
    std::vector<TraceStepView> steps;
    std::uint64_t dropped_steps = 0;
};

// An ended call kept for GET /calls/recent.
struct RecentCallView {
    CallView call;
    std::string outcome;
    std::int64_t ended_ms = 0;
    std::size_t steps = 0;
};

// NOTIFY talk -> Genesys leg answered, per DN, over the last window (the web page's figures).
struct DnLatencyView {
    std::string dn;
    std::size_t answers = 0;  // answered after a NOTIFY talk within the window
    double p50_ms = 0, p95_ms = 0, max_ms = 0, last_ms = 0;
};

// What the live web page shows, taken at one instant on the controller's thread.
struct LiveView {
    std::uint64_t seq = 0;  // increases with every view: a client keeps the newest
    std::int64_t now_ms = 0;
    std::vector<CallView> calls;
    std::vector<RecentCallView> recent;  // newest first, bounded
    std::vector<DnLatencyView> latency;  // by DN
    std::int64_t latency_window_s = 0;
};

// Told of every change while it watches; called on the controller's thread, so it must only
// hand the view on and return.
class LiveWatcher {
  public:
    virtual ~LiveWatcher() = default;
    virtual bool watching() const = 0;        // any client listening: else no view is built
    virtual void changed(LiveView view) = 0;  // coalesced: at most a few per second
};

struct Readiness {
    bool ari_required, ari_up, ami_required, ami_up, hep_required, hep_up;
    // Active/standby (REDIS_URL): a standby is ready without ARI, AMI or HEP.
    bool standby = false;
    bool redis_configured = false;
    bool redis_up = false;
};

enum class AnswerOutcome { requested, no_such_call, not_ringing };

class StatusSource {  // implemented by the controller; callbacks may be called on any thread
  public:
    virtual ~StatusSource() = default;
    virtual void calls(std::function<void(std::vector<CallView>)> done) = 0;  // all live calls
    // Every gateway's live calls (GET /calls?scope=all); one process alone has only its own.
    virtual void all_calls(std::function<void(std::vector<CallView>)> done) {
        calls(std::move(done));
    }
    virtual Readiness readiness() const = 0;  // cheap, thread-safe
    virtual void request_answer(const std::string& dn,
                                std::function<void(AnswerOutcome, std::string detail)> done) = 0;
    // The call with this id (the Genesys leg's channel id), live or recently ended; nullopt
    // when talkgate knows none.
    virtual void trace(const std::string& id,
                       std::function<void(std::optional<TraceView>)> done) = 0;
    virtual void recent_calls(
        std::function<void(std::vector<RecentCallView>)> done) = 0;  // newest first
    // The page's view now (for a client that just connected).
    virtual void live(std::function<void(LiveView)> done) = 0;
    // From now on, `watcher` hears of changes while it lives and watches.
    virtual void watch(std::weak_ptr<LiveWatcher> watcher) = 0;
};

}  // namespace talkgate::status
