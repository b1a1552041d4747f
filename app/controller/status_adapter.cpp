#include "controller/status_adapter.hpp"

namespace talkgate::controller {

std::vector<status::CallView> call_views(const flow::CallRegistry& registry,
                                         flow::TimePoint steady_now,
                                         std::chrono::system_clock::time_point wall_now) {
    auto epoch_ms = [&](flow::TimePoint tp) {
        const auto wall = wall_now - (steady_now - tp);
        return std::chrono::duration_cast<std::chrono::milliseconds>(wall.time_since_epoch())
            .count();
    };
    std::vector<status::CallView> out;
    for (const flow::Call* c : registry.all()) {
        const bool bridged =
            c->state == flow::CallState::connected || c->state == flow::CallState::held;
        status::CallView v;
        v.id = c->key;
        v.dn = c->dn;
        v.state = to_string(c->state);
        v.call_id = c->call_id;
        v.call_uuid = c->call_uuid;
        v.genesys_channel = c->genesys_channel;
        v.agent_channel = c->agent_channel;
        v.bridge = bridged ? c->bridge : "";
        v.policy = talkgate::to_string(c->policy);
        v.created_ms = epoch_ms(c->created);
        if (c->ringing_at) v.ringing_ms = epoch_ms(*c->ringing_at);
        if (c->notify_talk_at) v.notify_talk_ms = epoch_ms(*c->notify_talk_at);
        if (c->answered_at) v.answered_ms = epoch_ms(*c->answered_at);
        v.held = c->state == flow::CallState::held;
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
