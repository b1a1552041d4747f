#include "controller/status_adapter.hpp"

namespace talkgate::controller {

namespace {

// Steady time points as epoch milliseconds, from one instant read on both clocks.
struct EpochMs {
    flow::TimePoint steady_now;
    std::chrono::system_clock::time_point wall_now;
    std::int64_t operator()(flow::TimePoint tp) const {
        const auto wall = wall_now - (steady_now - tp);
        return std::chrono::duration_cast<std::chrono::milliseconds>(wall.time_since_epoch())
            .count();
    }
};

double ms(std::chrono::nanoseconds d) {
    return std::chrono::duration<double, std::milli>(d).count();
}

status::CallView call_view(const flow::Call& c, const EpochMs& epoch_ms) {
    const bool bridged = c.state == flow::CallState::connected || c.state == flow::CallState::held;
    status::CallView v;
    v.id = c.key;
    v.dn = c.dn;
    v.state = to_string(c.state);
    v.call_id = c.call_id;
    v.call_uuid = c.call_uuid;
    v.genesys_channel = c.genesys_channel;
    v.agent_channel = c.agent_channel;
    v.bridge = bridged ? c.bridge : "";
    v.policy = talkgate::to_string(c.policy);
    v.created_ms = epoch_ms(c.created);
    if (c.ringing_at) v.ringing_ms = epoch_ms(*c.ringing_at);
    if (c.notify_talk_at) v.notify_talk_ms = epoch_ms(*c.notify_talk_at);
    if (c.answered_at) v.answered_ms = epoch_ms(*c.answered_at);
    v.held = c.state == flow::CallState::held;
    return v;
}

}  // namespace

std::vector<status::CallView> call_views(const flow::CallRegistry& registry,
                                         flow::TimePoint steady_now,
                                         std::chrono::system_clock::time_point wall_now) {
    const EpochMs epoch_ms{steady_now, wall_now};
    std::vector<status::CallView> out;
    for (const flow::Call* c : registry.all()) out.push_back(call_view(*c, epoch_ms));
    return out;
}

std::optional<status::TraceView> trace_view(const flow::CallRegistry& registry,
                                            const std::string& id, flow::TimePoint steady_now,
                                            std::chrono::system_clock::time_point wall_now) {
    const flow::Call* c = registry.live_or_recent(id);
    if (c == nullptr) return std::nullopt;
    const EpochMs epoch_ms{steady_now, wall_now};
    status::TraceView t;
    t.call = call_view(*c, epoch_ms);
    t.live = c->state != flow::CallState::ended;
    t.outcome = c->outcome;
    if (c->ended_at) t.ended_ms = epoch_ms(*c->ended_at);
    t.dropped_steps = c->trace.dropped();
    for (const auto& s : c->trace.steps()) {
        status::TraceStepView v;
        v.t_ms = ms(s.at - c->created);
        v.at_ms = epoch_ms(s.at);
        v.step = to_string(s.kind);
        v.event = s.event;
        v.source = s.source;
        v.outcome = s.outcome;
        v.cause = s.cause;
        v.duplicate = s.duplicate;
        if (s.latency) v.latency_ms = ms(*s.latency);
        t.steps.push_back(std::move(v));
    }
    return t;
}

std::vector<status::RecentCallView> recent_views(const flow::CallRegistry& registry,
                                                 flow::TimePoint steady_now,
                                                 std::chrono::system_clock::time_point wall_now) {
    const EpochMs epoch_ms{steady_now, wall_now};
    std::vector<status::RecentCallView> out;
    const auto& recent = registry.recent();
    out.reserve(recent.size());
    for (auto it = recent.rbegin(); it != recent.rend(); ++it) {
        status::RecentCallView v;
        v.call = call_view(*it, epoch_ms);
        v.outcome = it->outcome;
        v.ended_ms = epoch_ms(it->ended_at.value_or(it->created));
        v.steps = it->trace.steps().size();
        out.push_back(std::move(v));
    }
    return out;
}

status::AnswerOutcome to_status(flow::ManualAnswerOutcome outcome) {
    switch (outcome) {
        case flow::ManualAnswerOutcome::requested:
            return status::AnswerOutcome::requested;
        case flow::ManualAnswerOutcome::no_such_call:
            return status::AnswerOutcome::no_such_call;
        case flow::ManualAnswerOutcome::not_ringing:
            break;
    }
    return status::AnswerOutcome::not_ringing;
}

}  // namespace talkgate::controller
