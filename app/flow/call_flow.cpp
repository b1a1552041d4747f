// The call flow, top to bottom as in the SIP ladder:
//
//   Genesys INVITE -> StasisStart(Genesys leg)  : offered, create agent leg
//   StasisStart(agent leg)                      : dialing, dial it
//   agent 180 -> ChannelStateChange(Ringing)    : ringing, ring Genesys (its 180)
//   Genesys NOTIFY talk                         : answer_requested, tell the agent side to
//                                                 answer (AMI PJSIPNotify + bridge API)
//   agent 200 -> ChannelStateChange(Up)         : answer Genesys, bridge both legs
//   bridge up                                   : connected
//   NOTIFY hold / NOTIFY talk                   : held / connected (retrieve)
//   hangup on either side                       : hang up the other, ended
#include "flow/call_flow.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_set>

namespace talkgate::flow {

namespace {

std::string who(const Call& c) {
    return "DN=" + c.dn + " channel=" + c.genesys_channel + " Call-ID=" + c.call_id +
           " CallUUID=" + (c.call_uuid.empty() ? "-" : c.call_uuid);
}

std::string who(const NotifyReceived& n) {
    return "DN=" + n.dn + " Call-ID=" + n.call_id +
           " CallUUID=" + (n.call_uuid.empty() ? "-" : n.call_uuid) +
           " CSeq=" + std::to_string(n.cseq) + " source=" + n.source;
}

bool valid_dn(const std::string& dn) {
    if (dn.empty() || dn.size() > 32) return false;
    return std::all_of(dn.begin(), dn.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '*' || ch == '#' ||
               ch == '+' || ch == '_' || ch == '.' || ch == '-';
    });
}

std::string replace_all(std::string s, const std::string& what, const std::string& with) {
    for (auto pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + with.size()))
        s.replace(pos, what.size(), with);
    return s;
}

bool before_answer(CallState s) {
    return s == CallState::offered || s == CallState::dialing || s == CallState::ringing ||
           s == CallState::answer_requested;
}

}  // namespace

const char* to_string(CallState state) {
    switch (state) {
        case CallState::offered:
            return "offered";
        case CallState::dialing:
            return "dialing";
        case CallState::ringing:
            return "ringing";
        case CallState::answer_requested:
            return "answer_requested";
        case CallState::connected:
            return "connected";
        case CallState::held:
            return "held";
        case CallState::ended:
            return "ended";
    }
    return "?";
}

CallFlow::CallFlow(const Config& config, FlowObserver& observer, IdSource ids)
    : config_(config), observer_(observer), ids_(std::move(ids)) {}

Commands CallFlow::handle(const Event& event, TimePoint now) {
    Commands out = std::visit([&](const auto& e) { return on(e, now); }, event);
    observer_.active_calls(registry_.size());
    return out;
}

// 1. A Genesys call enters the app: track it, create the agent's leg in the same app.
Commands CallFlow::on(const GenesysLegEntered& e, TimePoint now) {
    Commands out;
    if (registry_.by_channel(e.channel_id) != nullptr) return out;  // replayed StasisStart
    if (!valid_dn(e.dn)) {
        spdlog::warn("call rejected: no valid DN in Stasis args (got '{}') channel={} Call-ID={}",
                     e.dn, e.channel_id, e.call_id);
        out.push_back(HangupChannel{e.channel_id, e.channel_id, cause::unallocated});
        return out;
    }
    Call c;
    c.key = e.channel_id;
    c.dn = e.dn;
    c.call_id = e.call_id;
    c.call_uuid = e.call_uuid;
    c.genesys_channel = e.channel_id;
    c.genesys_channel_name = e.channel_name;
    c.agent_channel = ids_("agent");
    c.bridge = ids_("bridge");
    c.policy = config_.policy_for(e.dn);
    c.state = CallState::offered;
    c.created = now;
    c.ring_timer = next_timer_++;
    Call& call = registry_.add(std::move(c));
    spdlog::info("call offered: {} policy={}", who(call), to_string(call.policy));

    CreateAgentLeg create;
    create.call_key = call.key;
    create.agent_channel_id = call.agent_channel;
    create.endpoint = replace_all(config_.agent_endpoint_template, "{dn}", call.dn);
    create.app_args = "talkgate-agent," + call.key;
    create.originator = call.genesys_channel;
    if (!call.call_uuid.empty())
        create.variables["PJSIP_HEADER(add,X-Genesys-CallUUID)"] = call.call_uuid;
    if (call.policy == AnswerPolicy::immediate)
        create.variables["PJSIP_HEADER(add,Call-Info)"] = "<sip:talkgate.invalid>;answer-after=0";
    out.push_back(std::move(create));
    out.push_back(StartTimer{
        call.key, TimerKind::agent_no_answer, call.ring_timer,
        std::chrono::duration_cast<std::chrono::milliseconds>(config_.agent_ring_timeout)});
    return out;
}

// 2. The agent leg entered the app (create done): dial it.
Commands CallFlow::on(const AgentLegEntered& e, TimePoint) {
    Commands out;
    Call* call = registry_.by_key(e.call_key);
    if (call == nullptr) {
        spdlog::info("agent leg {} for a call that is gone: hanging it up", e.channel_id);
        out.push_back(HangupChannel{e.call_key, e.channel_id, cause::normal_clearing});
        return out;
    }
    if (call->agent_channel != e.channel_id) registry_.set_agent_channel(*call, e.channel_id);
    call->agent_channel_name = e.channel_name;
    call->state = CallState::dialing;
    spdlog::info("dialing agent: {} agent={}", who(*call), e.channel_name);
    out.push_back(DialAgent{call->key, call->agent_channel, call->genesys_channel,
                            static_cast<int>(config_.agent_ring_timeout.count())});
    return out;
}

// 3. The agent rings: ring Genesys; act on a NOTIFY talk that came early, or on the policy.
Commands CallFlow::on(const ChannelRinging& e, TimePoint now) {
    Commands out;
    Call* call = registry_.by_channel(e.channel_id);
    if (call == nullptr || e.channel_id != call->agent_channel) return out;
    if (call->state != CallState::offered && call->state != CallState::dialing) return out;
    call->state = CallState::ringing;
    call->ringing_at = now;
    spdlog::info("agent ringing: {}", who(*call));
    out.push_back(RingGenesys{call->key, call->genesys_channel});
    if (call->pending_talk) {
        request_answer(*call, now, out, "NOTIFY talk received before the agent rang");
    } else if (call->policy == AnswerPolicy::immediate) {
        request_answer(*call, now, out, "policy immediate");
    }
    return out;
}

// 4. NOTIFY from Genesys: talk answers (or retrieves), hold holds.
Commands CallFlow::on(const NotifyReceived& n, TimePoint now) {
    Commands out;
    observer_.notify_received(n);
    Call* call = match(n);
    if (call == nullptr) {
        observer_.notify_unmatched(n);
        spdlog::warn("NOTIFY {} for no known call: {} (ignored)", n.event_name, who(n));
        return out;
    }
    if (!n.call_uuid.empty() && n.call_uuid != call->call_uuid) {
        spdlog::info("CallUUID of {} is now {}", who(*call), n.call_uuid);
        call->call_uuid = n.call_uuid;
    }
    spdlog::info("NOTIFY {} received: {} state={}", n.event_name, who(n), to_string(call->state));
    switch (n.kind) {
        case NotifyKind::talk:
            switch (call->state) {
                case CallState::offered:
                case CallState::dialing:
                    call->pending_talk = true;
                    if (!call->notify_talk_at) call->notify_talk_at = n.received_at;
                    spdlog::info("NOTIFY talk before the agent rings: kept for {}", who(*call));
                    break;
                case CallState::ringing:
                    if (!call->notify_talk_at) call->notify_talk_at = n.received_at;
                    request_answer(*call, now, out, "NOTIFY talk");
                    break;
                case CallState::held:
                    call->state = CallState::connected;
                    spdlog::info("retrieve requested: {}", who(*call));
                    out.push_back(SendAgentNotify{call->key, call->dn, call->call_id,
                                                  call->call_uuid, call->agent_channel_name,
                                                  "talk"});
                    out.push_back(BridgeApiNotify{call->key, call->dn, call->call_id,
                                                  call->call_uuid, "talk"});
                    break;
                case CallState::answer_requested:
                case CallState::connected:
                case CallState::ended:
                    spdlog::info("NOTIFY talk in state {}: nothing to do for {}",
                                 to_string(call->state), who(*call));
                    break;
            }
            break;
        case NotifyKind::hold:
            if (call->state == CallState::connected) {
                call->state = CallState::held;
                spdlog::info("hold requested: {}", who(*call));
                out.push_back(SendAgentNotify{call->key, call->dn, call->call_id, call->call_uuid,
                                              call->agent_channel_name, "hold"});
                out.push_back(
                    BridgeApiNotify{call->key, call->dn, call->call_id, call->call_uuid, "hold"});
            } else {
                spdlog::info("NOTIFY hold in state {}: nothing to do for {}",
                             to_string(call->state), who(*call));
            }
            break;
        case NotifyKind::other:
            spdlog::info("NOTIFY {} ignored for {}", n.event_name, who(*call));
            break;
    }
    return out;
}

// 5. The agent answered: answer Genesys and bridge both legs.
Commands CallFlow::on(const ChannelAnswered& e, TimePoint) {
    Commands out;
    Call* call = registry_.by_channel(e.channel_id);
    if (call == nullptr || e.channel_id != call->agent_channel || call->agent_up) return out;
    call->agent_up = true;
    call->ring_timer = 0;
    spdlog::info("agent answered: {}", who(*call));
    out.push_back(
        AnswerAndBridge{call->key, call->genesys_channel, call->agent_channel, call->bridge});
    return out;
}

Commands CallFlow::on(const BridgeEstablished& e, TimePoint now) {
    Call* call = registry_.by_key(e.call_key);
    if (call == nullptr || !before_answer(call->state)) return {};
    call->state = CallState::connected;
    call->answered_at = now;
    auto since = call->notify_talk_at ? now - *call->notify_talk_at : Clock::duration::zero();
    observer_.genesys_answered(*call, since);
    spdlog::info("call connected: {} bridge={}", who(*call), call->bridge);
    return {};
}

// 6. A leg is gone: hang up the other one with a matching cause, end the call.
Commands CallFlow::on(const ChannelGone& e, TimePoint) {
    Commands out;
    Call* call = registry_.by_channel(e.channel_id);
    if (call == nullptr) return out;
    if (e.channel_id == call->genesys_channel) {
        spdlog::info("Genesys leg hung up (cause {}): {}", e.cause, who(*call));
        out.push_back(HangupChannel{call->key, call->agent_channel, cause::normal_clearing});
        end(*call, call->agent_up ? "genesys_hangup" : "cancelled", out);
        return out;
    }
    if (call->agent_up) {
        spdlog::info("agent leg hung up (cause {}): {}", e.cause, who(*call));
        out.push_back(HangupChannel{call->key, call->genesys_channel, cause::normal_clearing});
        end(*call, "agent_hangup", out);
        return out;
    }
    switch (e.cause != 0 ? e.cause : call->agent_cause) {
        case cause::user_busy:
            reject_genesys(*call, cause::user_busy, "busy", out);
            break;
        case cause::no_user_response:
        case cause::no_answer:
            reject_genesys(*call, cause::no_user_response, "no_answer", out);
            break;
        default:
            reject_genesys(*call, cause::subscriber_absent, "unavailable", out);
            break;
    }
    return out;
}

Commands CallFlow::on(const HangupCause& e, TimePoint) {
    Call* call = registry_.by_channel(e.channel_id);
    if (call != nullptr && e.channel_id == call->agent_channel && e.cause != 0)
        call->agent_cause = e.cause;
    return {};
}

Commands CallFlow::on(const CommandFailed& e, TimePoint) {
    Commands out;
    Call* call = registry_.by_key(e.call_key);
    if (call == nullptr) return out;
    switch (e.kind) {
        case CommandKind::create_agent:
        case CommandKind::dial_agent:
            spdlog::warn("agent leg could not be {} (HTTP {} {}): {}",
                         e.kind == CommandKind::create_agent ? "created" : "dialled", e.http_status,
                         e.error, who(*call));
            out.push_back(HangupChannel{call->key, call->agent_channel, cause::normal_clearing});
            reject_genesys(*call, cause::subscriber_absent, "unavailable", out);
            break;
        case CommandKind::answer_and_bridge:
            spdlog::error("answering/bridging failed ({}): {}", e.error, who(*call));
            out.push_back(HangupChannel{call->key, call->agent_channel, cause::normal_clearing});
            out.push_back(HangupChannel{call->key, call->genesys_channel, cause::normal_clearing});
            end(*call, "failed", out);
            break;
        case CommandKind::ring_genesys:
            spdlog::warn("ringing the Genesys leg failed ({}): {}", e.error, who(*call));
            break;
        case CommandKind::hangup:
            break;
    }
    return out;
}

// The agent did not answer in time: Genesys gets 408.
Commands CallFlow::on(const TimerFired& e, TimePoint) {
    Commands out;
    Call* call = registry_.by_key(e.call_key);
    if (call == nullptr || call->ring_timer == 0 || call->ring_timer != e.id || call->agent_up)
        return out;
    spdlog::info("agent did not answer within {} s: {}", config_.agent_ring_timeout.count(),
                 who(*call));
    out.push_back(HangupChannel{call->key, call->agent_channel, cause::no_answer});
    reject_genesys(*call, cause::no_user_response, "no_answer", out);
    return out;
}

// After a reconnect: close calls whose channels vanished, adopt Genesys legs left waiting.
Commands CallFlow::on(const Resync& e, TimePoint now) {
    Commands out;
    std::unordered_set<std::string> present;
    for (const auto& ch : e.channels) present.insert(ch.id);

    std::vector<std::string> keys;
    for (const Call* c : registry_.all()) keys.push_back(c->key);
    std::unordered_set<std::string> known;
    for (const auto& key : keys) {
        Call* call = registry_.by_key(key);
        known.insert(call->genesys_channel);
        known.insert(call->agent_channel);
        const bool genesys = present.count(call->genesys_channel) > 0;
        const bool agent = present.count(call->agent_channel) > 0;
        const bool agent_expected = call->state != CallState::offered;
        if (genesys && (agent || !agent_expected)) continue;
        observer_.resync_repair("closed");
        spdlog::warn("resync: {} leg vanished while disconnected: {}",
                     genesys ? "agent" : "Genesys", who(*call));
        if (agent)
            out.push_back(HangupChannel{call->key, call->agent_channel, cause::normal_clearing});
        if (genesys) {
            if (call->agent_up)
                out.push_back(
                    HangupChannel{call->key, call->genesys_channel, cause::normal_clearing});
            else
                out.push_back(
                    HangupChannel{call->key, call->genesys_channel, cause::subscriber_absent});
        }
        end(*call, "lost_during_disconnect", out);
    }
    for (const auto& ch : e.channels) {
        if (!ch.in_app || known.count(ch.id) > 0) continue;
        if (ch.context == "from-genesys" && ch.state != "Up") {
            observer_.resync_repair("adopted");
            spdlog::warn("resync: adopting Genesys leg {} for DN {} that waited in the app", ch.id,
                         ch.exten);
            auto more = on(GenesysLegEntered{ch.id, ch.name, ch.exten, ch.call_id, ""}, now);
            out.insert(out.end(), more.begin(), more.end());
        } else {
            observer_.resync_repair("orphan_hungup");
            spdlog::warn("resync: hanging up channel {} ({}) that no call owns", ch.id, ch.name);
            out.push_back(HangupChannel{ch.id, ch.id, cause::normal_clearing});
        }
    }
    return out;
}

ManualAnswerResult CallFlow::answer_manually(const std::string& dn, TimePoint now) {
    ManualAnswerResult r{ManualAnswerOutcome::no_such_call, "no call for DN " + dn, {}};
    for (Call* call : registry_.by_dn(dn)) {
        if (call->state == CallState::ringing || call->state == CallState::answer_requested) {
            spdlog::info("manual answer requested by operator: {}", who(*call));
            request_answer(*call, now, r.commands, "manual answer");
            r.outcome = ManualAnswerOutcome::requested;
            r.detail = "answer requested for call " + call->key;
            return r;
        }
        r.outcome = ManualAnswerOutcome::not_ringing;
        r.detail = "call " + call->key + " is " + to_string(call->state);
    }
    return r;
}

Call* CallFlow::match(const NotifyReceived& n) {
    if (!n.call_id.empty()) {
        if (Call* c = registry_.by_call_id(n.call_id)) return c;
    }
    auto calls = registry_.by_dn(n.dn);
    if (!n.call_uuid.empty()) {
        for (Call* c : calls) {
            if (c->call_uuid == n.call_uuid) return c;
        }
    }
    // A DN with one call and a NOTIFY with neither key that matches: take that call.
    if (calls.size() == 1 && n.call_id.empty() && n.call_uuid.empty()) return calls.front();
    return nullptr;
}

void CallFlow::request_answer(Call& call, TimePoint now, Commands& out, const char* why) {
    call.pending_talk = false;
    if (call.policy == AnswerPolicy::off && std::string(why) != "manual answer") {
        spdlog::info("{} for {}: policy off, not answering", why, who(call));
        return;
    }
    call.state = CallState::answer_requested;
    spdlog::info("answer requested ({}): {} agent={}", why, who(call), call.agent_channel_name);
    // Under `immediate` the agent INVITE carried Call-Info answer-after=0: a NOTIFY on top
    // would race the agent's own 200. Otherwise every path at once.
    if (std::string(why) != "policy immediate")
        out.push_back(SendAgentNotify{call.key, call.dn, call.call_id, call.call_uuid,
                                      call.agent_channel_name, "talk"});
    out.push_back(BridgeApiAnswer{call.key, call.dn, call.call_id, call.call_uuid});
    out.push_back(BridgeApiNotify{call.key, call.dn, call.call_id, call.call_uuid, "talk"});
    auto since = call.notify_talk_at ? now - *call.notify_talk_at : Clock::duration::zero();
    observer_.answer_requested(call, since);
}

void CallFlow::reject_genesys(Call& call, int q850, const std::string& outcome, Commands& out) {
    spdlog::info("rejecting Genesys leg ({}, cause {}): {}", outcome, q850, who(call));
    out.push_back(HangupChannel{call.key, call.genesys_channel, q850});
    end(call, outcome, out);
}

void CallFlow::end(Call& call, const std::string& outcome, Commands& out) {
    if (call.agent_up) out.push_back(DestroyBridge{call.bridge});
    call.state = CallState::ended;
    spdlog::info("call ended ({}): {}", outcome, who(call));
    observer_.call_ended(call, outcome);
    registry_.remove(call.key);
}

}  // namespace talkgate::flow
