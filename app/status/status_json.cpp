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
    return {{"id", c.id},
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
}

bool is_ready(const Readiness& r) {
    return (!r.ari_required || r.ari_up) && (!r.ami_required || r.ami_up) &&
           (!r.hep_required || r.hep_up);
}

nlohmann::json to_json(const Readiness& r) {
    return {{"ready", is_ready(r)},
            {"ari", peer(r.ari_required, r.ari_up)},
            {"ami", peer(r.ami_required, r.ami_up)},
            {"hep", peer(r.hep_required, r.hep_up)}};
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
