#include "status/status_json.hpp"

namespace talkgate::status {

namespace {

nlohmann::json optional_ms(const std::optional<std::int64_t>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json peer(bool required, bool up) {
    return {{"required", required}, {"up", up}};
}

}  // namespace

nlohmann::json to_json(const CallView& c) {
    nlohmann::json j = {{"id", c.id},
                        {"dn", c.dn},
                        {"state", c.state},
                        {"call_id", c.call_id},
                        {"call_uuid", c.call_uuid},
                        {"genesys_channel", c.genesys_channel},
                        {"agent_channel", c.agent_channel},
                        {"bridge", c.bridge},
                        {"policy", c.policy},
                        {"held", c.held},
                        {"created_ms", c.created_ms},
                        {"ringing_ms", optional_ms(c.ringing_ms)},
                        {"notify_talk_ms", optional_ms(c.notify_talk_ms)},
                        {"answered_ms", optional_ms(c.answered_ms)}};
    if (!c.gateway.empty()) j["gateway"] = c.gateway;
    return j;
}

nlohmann::json to_json(const TraceStepView& s) {
    nlohmann::json j{{"t_ms", s.t_ms}, {"at_ms", s.at_ms}, {"step", s.step}};
    if (!s.event.empty()) j["event"] = s.event;
    if (!s.source.empty()) j["source"] = s.source;
    if (!s.outcome.empty()) j["outcome"] = s.outcome;
    if (s.step == "hangup" || s.cause != 0) j["cause"] = s.cause;  // 0: Asterisk gave none
    if (s.step == "notify") j["duplicate"] = s.duplicate;
    if (s.latency_ms) j["latency_ms"] = *s.latency_ms;
    return j;
}

nlohmann::json to_json(const TraceView& t) {
    nlohmann::json j = to_json(t.call);
    j["live"] = t.live;
    j["outcome"] = t.live ? nlohmann::json(nullptr) : nlohmann::json(t.outcome);
    j["ended_ms"] = optional_ms(t.ended_ms);
    j["dropped_steps"] = t.dropped_steps;
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& s : t.steps) steps.push_back(to_json(s));
    j["steps"] = std::move(steps);
    return j;
}

nlohmann::json to_json(const RecentCallView& c) {
    nlohmann::json j = to_json(c.call);
    j["outcome"] = c.outcome;
    j["ended_ms"] = c.ended_ms;
    j["steps"] = c.steps;
    return j;
}

nlohmann::json to_json(const DnLatencyView& l) {
    return {{"dn", l.dn},         {"answers", l.answers}, {"p50_ms", l.p50_ms},
            {"p95_ms", l.p95_ms}, {"max_ms", l.max_ms},   {"last_ms", l.last_ms}};
}

nlohmann::json to_json(const LiveView& v) {
    nlohmann::json calls = nlohmann::json::array();
    for (const auto& c : v.calls) calls.push_back(to_json(c));
    nlohmann::json recent = nlohmann::json::array();
    for (const auto& c : v.recent) recent.push_back(to_json(c));
    nlohmann::json latency = nlohmann::json::array();
    for (const auto& l : v.latency) latency.push_back(to_json(l));
    return {{"seq", v.seq},
            {"now_ms", v.now_ms},
            {"calls", std::move(calls)},
            {"recent", std::move(recent)},
            {"latency", std::move(latency)},
            {"latency_window_s", v.latency_window_s}};
}

bool is_ready(const Readiness& r) {
    if (r.standby) return true;
    return (!r.ari_required || r.ari_up) && (!r.ami_required || r.ami_up) &&
           (!r.hep_required || r.hep_up);
}

nlohmann::json to_json(const Readiness& r) {
    nlohmann::json j = {{"ready", is_ready(r)},
                        {"role", r.standby ? "standby" : "active"},
                        {"ari", peer(r.ari_required, r.ari_up)},
                        {"ami", peer(r.ami_required, r.ami_up)},
                        {"hep", peer(r.hep_required, r.hep_up)}};
    // Never required: an active serves on without Redis (README, "Active and standby").
    if (r.redis_configured) j["redis"] = peer(false, r.redis_up);
    return j;
}

const char* to_string(AnswerOutcome outcome) {
    switch (outcome) {
        case AnswerOutcome::requested:
            return "requested";
        case AnswerOutcome::no_such_call:
            return "no_such_call";
        case AnswerOutcome::not_ringing:
            return "not_ringing";
    }
    return "unknown";
}

}  // namespace talkgate::status
