// The call flow, top to bottom as in the SIP ladder:
//
//   Genesys INVITE -> StasisStart(Genesys leg)  : offered, create agent leg
//   StasisStart(agent leg)                      : dialing, dial it
//   agent 180 -> ChannelStateChange(Ringing)    : ringing, ring Genesys (its 180)
//   Genesys NOTIFY talk                         : answer_requested, tell the agent side to
//                                                 answer (AMI PJSIPNotify + bridge API)
//   agent 200 -> ChannelStateChange(Up)         : bridging: answer Genesys, bridge both legs
//   bridge up                                   : connected
//   NOTIFY hold / NOTIFY talk                   : held / connected (retrieve)
//   hangup on either side                       : hang up the other, ended
//   (re)connect: Resync                         : adopt the calls Asterisk still has
#include "flow/call_flow.hpp"

#include "flow/channel_vars.hpp"
#include "wire/wire_text.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_map>

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

std::string var_of(const ChannelSnapshot& ch, const char* name) {
    auto it = ch.vars.find(name);
    return it == ch.vars.end() ? std::string() : it->second;
}

std::optional<AnswerPolicy> policy_named(const std::string& name) {
    for (auto p : {AnswerPolicy::notify, AnswerPolicy::immediate, AnswerPolicy::off}) {
        if (name == to_string(p)) return p;
    }
    return std::nullopt;
}

bool is_genesys_leg(const ChannelSnapshot& ch, const Config& config) {
    return ch.context == config.genesys_context || !var_of(ch, var::genesys_call_id).empty();
}

// The call key an agent leg belongs to: its id is "<key>-agent"; the variable also says so.
std::string key_of_agent_leg(const ChannelSnapshot& ch) {
    std::string key = var_of(ch, var::call_key);
    if (!key.empty()) return key;
    const std::string suffix = agent_channel_id("");
    if (ch.id.size() > suffix.size() &&
        ch.id.compare(ch.id.size() - suffix.size(), suffix.size(), suffix) == 0)
        return ch.id.substr(0, ch.id.size() - suffix.size());
    return "";
}

// Stamped when the flow handles it, so a trace's times never go backwards.
TraceStep notify_step(const NotifyReceived& n, TimePoint at, bool duplicate) {
    TraceStep t;
    t.at = at;
    t.kind = TraceKind::notify;
    t.event = n.event_name;
    t.source = n.source;
    t.duplicate = duplicate;
    return t;
}

const char* reason_token(AnswerReason reason) {
    switch (reason) {
        case AnswerReason::notify_talk:
            return "notify_talk";
        case AnswerReason::early_notify_talk:
            return "early_notify_talk";
        case AnswerReason::policy_immediate:
            return "policy_immediate";
        case AnswerReason::manual:
            return "manual";
    }
    return "?";
}

bool before_answer(CallState s) {
    return s == CallState::offered || s == CallState::dialing || s == CallState::ringing ||
           s == CallState::answer_requested;
}

}  // namespace

const char* to_string(AnswerReason reason) {
    switch (reason) {
        case AnswerReason::notify_talk:
            return "NOTIFY talk";
        case AnswerReason::early_notify_talk:
            return "NOTIFY talk received before the agent rang";
        case AnswerReason::policy_immediate:
            return "policy immediate";
        case AnswerReason::manual:
            return "manual answer";
    }
    return "?";
}

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
        case CallState::bridging:
            return "bridging";
        case CallState::connected:
            return "connected";
        case CallState::held:
            return "held";
        case CallState::ended:
            return "ended";
    }
    return "?";
}

CallFlow::CallFlow(const Config& config, FlowObserver& observer)
    : config_(config), observer_(observer), registry_(config.recent_calls) {}

Commands CallFlow::handle(const Event& event, TimePoint now) {
    Commands out = std::visit([&](const auto& e) { return on(e, now); }, event);
    observer_.active_calls(registry_.size());
    return out;
}

// 1. A Genesys call enters the app: track it, create the agent's leg in the same app.
Commands CallFlow::on(const GenesysLegEntered& e, TimePoint now) {
    Commands out;
    if (registry_.by_channel(e.channel_id) != nullptr) return out;  // replayed StasisStart
    if (!wire::valid_dn(e.dn)) {
        spdlog::warn("call rejected: no valid DN in Stasis args (got '{}') channel={} Call-ID={}",
                     wire::escaped(e.dn, 40), e.channel_id, wire::escaped(e.call_id, 80));
        out.push_back(HangupChannel{e.channel_id, e.channel_id, cause::unallocated});
        return out;
    }
    Call c;
    c.key = e.channel_id;
    c.dn = e.dn;
    // Stasis args come from the Genesys INVITE: keep only values every consumer can carry.
    if (wire::valid_call_id(e.call_id)) c.call_id = e.call_id;
    if (wire::valid_call_uuid(e.call_uuid)) c.call_uuid = e.call_uuid;
    if (c.call_id != e.call_id || c.call_uuid != e.call_uuid) {
        observer_.header_dropped("Stasis args");
        spdlog::warn(
            "call {}: dropped a Call-ID or CallUUID that is not visible ASCII ('{}', '{}')",
            e.channel_id, wire::escaped(e.call_id, 80), wire::escaped(e.call_uuid, 80));
    }
    c.genesys_channel = e.channel_id;
    c.genesys_channel_name = e.channel_name;
    c.agent_channel = agent_channel_id(c.key);
    c.bridge = bridge_id(c.key);
    c.policy = config_.policy_for(e.dn);
    c.state = CallState::offered;
    c.created = now;
    Call& call = registry_.add(std::move(c));
    trace(call, TraceKind::stasis_entered, now);
    spdlog::info("call offered: {} policy={}", who(call), to_string(call.policy));

    CreateAgentLeg create;
    create.call_key = call.key;
    create.agent_channel_id = call.agent_channel;
    create.endpoint = wire::replace_all(config_.agent_endpoint_template, "{dn}", call.dn);
    create.app_args = "talkgate-agent," + call.key;
    create.originator = call.genesys_channel;
    // Free identity for the next start: these ride on the same create request.
    create.variables[var::call_key] = call.key;
    create.variables[var::policy] = to_string(call.policy);
    if (!call.call_uuid.empty())
        create.variables["PJSIP_HEADER(add,X-Genesys-CallUUID)"] = call.call_uuid;
    if (call.policy == AnswerPolicy::immediate)
        create.variables["PJSIP_HEADER(add,Call-Info)"] = "<sip:talkgate.invalid>;answer-after=0";
    out.push_back(std::move(create));
    trace(call, TraceKind::agent_leg_created, now);
    start_ring_timer(
        call, std::chrono::duration_cast<std::chrono::milliseconds>(config_.agent_ring_timeout),
        out);
    return out;
}

// 2. The agent leg entered the app (create done): dial it.
Commands CallFlow::on(const AgentLegEntered& e, TimePoint now) {
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
    trace(*call, TraceKind::agent_dialled, now);
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
    trace(*call, TraceKind::agent_ringing, now);
    out.push_back(RingGenesys{call->key, call->genesys_channel});
    trace(*call, TraceKind::genesys_rung, now);
    if (call->pending_talk) {
        request_answer(*call, now, out, AnswerReason::early_notify_talk);
    } else if (call->policy == AnswerPolicy::immediate) {
        request_answer(*call, now, out, AnswerReason::policy_immediate);
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
    TraceStep step = notify_step(n, now, false);
    if (n.from_channel && n.channel != call->genesys_channel) {
        step.outcome = "wrong_channel";
        trace(*call, std::move(step));
        observer_.notify_rejected(n, "wrong_channel");
        spdlog::warn("NOTIFY {} rejected: raised on channel '{}', not on the Genesys leg of {}",
                     n.event_name, n.channel.empty() ? "-" : n.channel, who(*call));
        return out;
    }
    spdlog::info("NOTIFY {} received: {} state={}", n.event_name, who(n), to_string(call->state));
    trace(*call, std::move(step));
    act_on_notify(*call, n, now, out);
    return out;
}

// Also for a NOTIFY the module recorded while talkgate was away (replayed at adoption): each
// case is idempotent, so a NOTIFY already acted on changes nothing.
void CallFlow::act_on_notify(Call& c, const NotifyReceived& n, TimePoint now, Commands& out) {
    Call* call = &c;
    if (wire::valid_call_uuid(n.call_uuid) && n.call_uuid != call->call_uuid) {
        spdlog::info("CallUUID of {} is now {}", who(*call), n.call_uuid);
        call->call_uuid = n.call_uuid;
    }
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
                    request_answer(*call, now, out, AnswerReason::notify_talk);
                    break;
                case CallState::held:
                    call->state = CallState::connected;
                    trace(*call, TraceKind::retrieve, now);
                    spdlog::info("retrieve requested: {}", who(*call));
                    out.push_back(SetChannelVar{call->key, call->genesys_channel, var::held, "0"});
                    out.push_back(SendAgentNotify{call->key, call->dn, call->call_id,
                                                  call->call_uuid, call->agent_channel_name,
                                                  "talk"});
                    out.push_back(BridgeApiNotify{call->key, call->dn, call->call_id,
                                                  call->call_uuid, "talk"});
                    break;
                case CallState::answer_requested:
                case CallState::bridging:
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
                trace(*call, TraceKind::hold, now);
                spdlog::info("hold requested: {}", who(*call));
                out.push_back(SetChannelVar{call->key, call->genesys_channel, var::held, "1"});
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
}

// 5. The agent answered: answer Genesys and bridge both legs.
Commands CallFlow::on(const ChannelAnswered& e, TimePoint now) {
    Commands out;
    Call* call = registry_.by_channel(e.channel_id);
    if (call == nullptr || e.channel_id != call->agent_channel || agent_answered(call->state))
        return out;
    call->state = CallState::bridging;
    call->ring_timer = 0;
    trace(*call, TraceKind::agent_answered, now);
    spdlog::info("agent answered: {}", who(*call));
    out.push_back(
        AnswerAndBridge{call->key, call->genesys_channel, call->agent_channel, call->bridge});
    return out;
}

Commands CallFlow::on(const BridgeEstablished& e, TimePoint now) {
    Call* call = registry_.by_key(e.call_key);
    if (call == nullptr || call->state != CallState::bridging) return {};
    call->state = CallState::connected;
    call->answered_at = now;
    trace(*call, TraceKind::bridged, now);
    auto since = call->notify_talk_at ? now - *call->notify_talk_at : Clock::duration::zero();
    observer_.genesys_answered(*call, since);
    spdlog::info("call connected: {} bridge={}", who(*call), call->bridge);
    return {};
}

// 6. A leg is gone: hang up the other one with a matching cause, end the call.
Commands CallFlow::on(const ChannelGone& e, TimePoint now) {
    Commands out;
    Call* call = registry_.by_channel(e.channel_id);
    if (call == nullptr) return out;
    TraceStep hangup;
    hangup.at = now;
    hangup.kind = TraceKind::hangup;
    const bool genesys_side = e.channel_id == call->genesys_channel;
    hangup.source = genesys_side ? "genesys" : "agent";
    hangup.cause = e.cause != 0 || genesys_side ? e.cause : call->agent_cause;
    trace(*call, std::move(hangup));
    if (e.channel_id == call->genesys_channel) {
        spdlog::info("Genesys leg hung up (cause {}): {}", e.cause, who(*call));
        out.push_back(HangupChannel{call->key, call->agent_channel, cause::normal_clearing});
        end(*call, agent_answered(call->state) ? "genesys_hangup" : "cancelled", now, out);
        return out;
    }
    if (agent_answered(call->state)) {
        spdlog::info("agent leg hung up (cause {}): {}", e.cause, who(*call));
        out.push_back(HangupChannel{call->key, call->genesys_channel, cause::normal_clearing});
        end(*call, "agent_hangup", now, out);
        return out;
    }
    switch (e.cause != 0 ? e.cause : call->agent_cause) {
        case cause::user_busy:
            reject_genesys(*call, cause::user_busy, "busy", now, out);
            break;
        case cause::no_user_response:
        case cause::no_answer:
            reject_genesys(*call, cause::no_user_response, "no_answer", now, out);
            break;
        default:
            reject_genesys(*call, cause::subscriber_absent, "unavailable", now, out);
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

Commands CallFlow::on(const CommandFailed& e, TimePoint now) {
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
            reject_genesys(*call, cause::subscriber_absent, "unavailable", now, out);
            break;
        case CommandKind::answer_and_bridge:
            spdlog::error("answering/bridging failed ({}): {}", e.error, who(*call));
            out.push_back(HangupChannel{call->key, call->agent_channel, cause::normal_clearing});
            out.push_back(HangupChannel{call->key, call->genesys_channel, cause::normal_clearing});
            end(*call, "failed", now, out);
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
Commands CallFlow::on(const TimerFired& e, TimePoint now) {
    Commands out;
    Call* call = registry_.by_key(e.call_key);
    if (call == nullptr || call->ring_timer == 0 || call->ring_timer != e.id ||
        agent_answered(call->state))
        return out;
    spdlog::info("agent did not answer within {} s: {}", config_.agent_ring_timeout.count(),
                 who(*call));
    trace(*call, TraceKind::ring_timeout, now);
    out.push_back(HangupChannel{call->key, call->agent_channel, cause::no_answer});
    reject_genesys(*call, cause::no_user_response, "no_answer", now, out);
    return out;
}

// After a (re)connect: Asterisk kept every channel and bridge while talkgate was away. Calls
// talkgate knows are brought up to date, calls it does not know (a restart) are adopted with
// their identity from ids and channel variables, and only legs whose partner is gone are hung
// up. Each repair is counted by its action.
Commands CallFlow::on(const Resync& e, TimePoint now) {
    Commands out;
    std::unordered_map<std::string, const ChannelSnapshot*> channels;
    for (const auto& ch : e.channels) channels[ch.id] = &ch;
    std::unordered_map<std::string, std::string> bridge_of;
    for (const auto& b : e.bridges) {
        for (const auto& id : b.channels) bridge_of[id] = b.id;
    }
    auto find = [&](const std::string& id) -> const ChannelSnapshot* {
        auto it = channels.find(id);
        return it == channels.end() ? nullptr : it->second;
    };

    std::vector<std::string> keys;
    for (const Call* c : registry_.all()) keys.push_back(c->key);
    for (const auto& key : keys) {
        Call* call = registry_.by_key(key);
        if (call == nullptr) continue;
        // Asterisk listed its channels after requested_at: a call that entered since, or whose
        // agent leg may have been created since (not ringing before it), is not in the lists.
        if (e.requested_at && call->created >= *e.requested_at) continue;
        const ChannelSnapshot* genesys = find(call->genesys_channel);
        const ChannelSnapshot* agent = find(call->agent_channel);
        if (e.requested_at && genesys != nullptr && agent == nullptr &&
            (!call->ringing_at || *call->ringing_at >= *e.requested_at))
            continue;
        const bool agent_expected = call->state != CallState::offered;
        if (genesys != nullptr && agent != nullptr) {
            reconcile(*call, *genesys, *agent, now, out);
            continue;
        }
        if (genesys != nullptr && !agent_expected) continue;
        observer_.resync_repair("closed");
        spdlog::warn("resync: {} leg vanished while disconnected: {}",
                     genesys != nullptr ? "agent" : "Genesys", who(*call));
        if (agent != nullptr)
            out.push_back(HangupChannel{call->key, call->agent_channel, cause::normal_clearing});
        if (genesys != nullptr)
            out.push_back(HangupChannel{
                call->key, call->genesys_channel,
                agent_answered(call->state) ? cause::normal_clearing : cause::subscriber_absent});
        end(*call, "lost_during_disconnect", now, out);
    }

    for (const auto& ch : e.channels) {
        if (!ch.in_app || registry_.by_channel(ch.id) != nullptr || !is_genesys_leg(ch, config_))
            continue;
        const ChannelSnapshot* agent = find(agent_channel_id(ch.id));
        if (agent == nullptr && bridge_of.count(ch.id) > 0) {
            // Agent legs of an older talkgate have other ids: the bridge partner is the agent.
            for (const auto& b : e.bridges) {
                if (b.id == bridge_of[ch.id] && b.channels.size() == 2)
                    agent = find(b.channels[0] == ch.id ? b.channels[1] : b.channels[0]);
            }
        }
        const bool bridged = agent != nullptr && bridge_of.count(ch.id) > 0 &&
                             bridge_of[ch.id] == bridge_of[agent->id];
        adopt(ch, agent, bridged, bridged ? bridge_of[ch.id] : bridge_id(ch.id), now, out);
    }

    for (const auto& ch : e.channels) {
        if (!ch.in_app || registry_.by_channel(ch.id) != nullptr || is_genesys_leg(ch, config_))
            continue;
        const std::string key = key_of_agent_leg(ch);
        if (!key.empty()) {
            observer_.resync_repair("agent_partner_gone");
            spdlog::warn("resync: hanging up agent leg {} ({}): its Genesys leg {} is gone", ch.id,
                         ch.name, key);
        } else {
            observer_.resync_repair("orphan_hungup");
            spdlog::warn("resync: hanging up channel {} ({}) that no call owns", ch.id, ch.name);
        }
        out.push_back(HangupChannel{ch.id, ch.id, cause::normal_clearing});
    }

    for (const auto& b : e.bridges) {
        if (b.name != "talkgate") continue;
        bool owned = false;
        for (const Call* c : registry_.all()) owned = owned || c->bridge == b.id;
        if (owned) continue;
        observer_.resync_repair("bridge_destroyed");
        spdlog::warn("resync: destroying bridge {} that no call owns", b.id);
        out.push_back(DestroyBridge{b.id});
    }
    return out;
}

// A Genesys leg talkgate does not know (it was started again): take the call over as it is.
void CallFlow::adopt(const ChannelSnapshot& g, const ChannelSnapshot* agent, bool bridged,
                     const std::string& bridge, TimePoint now, Commands& out) {
    const std::string uuid = var_of(g, var::genesys_call_uuid);
    const std::string call_id = !g.call_id.empty() ? g.call_id : var_of(g, var::genesys_call_id);
    if (agent == nullptr) {
        if (g.state == "Up") {
            // It was answered, so it had an agent leg: the agent hung up while we were away.
            observer_.resync_repair("genesys_partner_gone");
            spdlog::warn(
                "resync: hanging up Genesys leg {} (DN={} Call-ID={}): its agent leg is gone", g.id,
                g.exten, call_id);
            out.push_back(HangupChannel{g.id, g.id, cause::normal_clearing});
            return;
        }
        observer_.resync_repair("adopted");
        spdlog::warn("resync: adopting Genesys leg {} for DN {} that waited in the app", g.id,
                     g.exten);
        auto more = on(GenesysLegEntered{g.id, g.name, g.exten, call_id, uuid}, now);
        out.insert(out.end(), more.begin(), more.end());
        if (Call* call = registry_.by_key(g.id)) {
            TraceStep adopted{now, TraceKind::adopted, "", "", "adopted", 0, false, {}};
            call->trace.add_first(config_.call_trace_steps, std::move(adopted));
        }
        return;
    }
    Call c;
    c.key = g.id;
    c.dn = g.exten;
    // Values Asterisk holds for the call came from the wire once: keep only carriable ones.
    if (wire::valid_call_id(call_id)) c.call_id = call_id;
    if (wire::valid_call_uuid(uuid)) c.call_uuid = uuid;
    if (c.call_id != call_id || c.call_uuid != uuid) observer_.header_dropped("adopted call");
    c.genesys_channel = g.id;
    c.genesys_channel_name = g.name;
    c.agent_channel = agent->id;
    c.agent_channel_name = agent->name;
    c.bridge = bridge;
    c.policy = policy_named(var_of(*agent, var::policy)).value_or(config_.policy_for(g.exten));
    c.created = now - g.age.value_or(std::chrono::milliseconds(0));
    if (!wire::valid_dn(c.dn)) {
        observer_.resync_repair("invalid_hungup");
        spdlog::warn("resync: Genesys leg {} has no valid DN ('{}'): hanging up both legs", g.id,
                     wire::escaped(c.dn, 40));
        out.push_back(HangupChannel{g.id, agent->id, cause::normal_clearing});
        out.push_back(HangupChannel{g.id, g.id, cause::normal_clearing});
        return;
    }
    const char* action = "adopted_dialing";
    if (bridged && agent->state == "Up" && g.state == "Up") {
        c.state = var_of(g, var::held) == "1" ? CallState::held : CallState::connected;
        c.answered_at = now;
        action = c.state == CallState::held ? "adopted_held" : "adopted_connected";
    } else if (agent->state == "Up") {
        c.state = CallState::answer_requested;  // BridgeEstablished makes it connected
        action = "adopted_answered";
    } else if (agent->state == "Ringing") {
        c.state = CallState::ringing;
        c.ringing_at = now;
        action = "adopted_ringing";
    } else {
        // Dialled or not, nobody knows: the agent's 180 or the ring timer moves it on.
        c.state = CallState::dialing;
    }
    Call& call = registry_.add(std::move(c));
    trace(call, TraceStep{now, TraceKind::adopted, "", "", action, 0, false, {}});
    observer_.resync_repair(action);
    spdlog::warn("resync: adopted call {} agent={} state={} policy={}", who(call),
                 call.agent_channel_name, to_string(call.state), to_string(call.policy));
    if (before_answer(call.state)) {
        // The ring timeout counts from the Genesys leg's creation, as it did before the restart.
        const auto full =
            std::chrono::duration_cast<std::chrono::milliseconds>(config_.agent_ring_timeout);
        const auto age = g.age.value_or(std::chrono::milliseconds(0));
        start_ring_timer(call, age < full ? full - age : std::chrono::milliseconds(0), out);
    }
    if (call.state == CallState::answer_requested) {
        auto more = on(ChannelAnswered{agent->id}, now);
        out.insert(out.end(), more.begin(), more.end());
    } else if (call.state == CallState::ringing && g.state != "Ringing" && g.state != "Up") {
        out.push_back(RingGenesys{call.key, call.genesys_channel});
    }
    replay_recorded_notify(call, g, now, out);
}

// A call talkgate knows, after a reconnect: catch up with what its legs did meanwhile.
void CallFlow::reconcile(Call& call, const ChannelSnapshot& g, const ChannelSnapshot& agent,
                         TimePoint now, Commands& out) {
    auto run = [&](const Event& e) {
        auto more = std::visit([&](const auto& ev) { return on(ev, now); }, e);
        out.insert(out.end(), more.begin(), more.end());
    };
    if (call.state == CallState::offered && call.agent_channel_name.empty()) {
        observer_.resync_repair("caught_up");
        run(AgentLegEntered{agent.id, agent.name, call.key});
    }
    if (agent.state == "Ringing" && call.state == CallState::dialing) {
        observer_.resync_repair("caught_up");
        run(ChannelRinging{agent.id});
    }
    if (agent.state == "Up" && !agent_answered(call.state)) {
        observer_.resync_repair("caught_up");
        run(ChannelAnswered{agent.id});
    }
    if (registry_.by_key(call.key) != nullptr) replay_recorded_notify(call, g, now, out);
}

// The module answers Genesys's NOTIFY itself and records it on the Genesys leg, so one that
// came while talkgate was away is acted on now.
void CallFlow::replay_recorded_notify(Call& call, const ChannelSnapshot& g, TimePoint now,
                                      Commands& out) {
    const std::string event = var_of(g, var::notify_event);
    if (event != "talk" && event != "hold") return;
    NotifyReceived n;
    n.kind = event == "talk" ? NotifyKind::talk : NotifyKind::hold;
    n.event_name = event;
    n.call_id = call.call_id;
    n.dn = call.dn;
    n.call_uuid = var_of(g, var::genesys_call_uuid);
    n.source = "recorded";
    n.received_at = now;
    spdlog::info("resync: NOTIFY {} recorded on the Genesys leg (CSeq {}): {} state={}", event,
                 var_of(g, var::notify_cseq), who(call), to_string(call.state));
    trace(call, notify_step(n, now, false));
    act_on_notify(call, n, now, out);
}

void CallFlow::start_ring_timer(Call& call, std::chrono::milliseconds after, Commands& out) {
    call.ring_timer = next_timer_++;
    out.push_back(StartTimer{call.key, TimerKind::agent_no_answer, call.ring_timer, after});
}

ManualAnswerResult CallFlow::answer_manually(const std::string& dn, TimePoint now) {
    ManualAnswerResult r{ManualAnswerOutcome::no_such_call, "no call for DN " + dn, {}};
    for (Call* call : registry_.by_dn(dn)) {
        if (call->state == CallState::ringing || call->state == CallState::answer_requested) {
            spdlog::info("manual answer requested by operator: {}", who(*call));
            request_answer(*call, now, r.commands, AnswerReason::manual);
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

void CallFlow::request_answer(Call& call, TimePoint now, Commands& out, AnswerReason why) {
    call.pending_talk = false;
    if (call.policy == AnswerPolicy::off && why != AnswerReason::manual) {
        spdlog::info("{} for {}: policy off, not answering", to_string(why), who(call));
        return;
    }
    call.state = CallState::answer_requested;
    trace(call,
          TraceStep{now, TraceKind::answer_requested, "", "", reason_token(why), 0, false, {}});
    spdlog::info("answer requested ({}): {} agent={}", to_string(why), who(call),
                 call.agent_channel_name);
    // Under `immediate` the agent INVITE carried Call-Info answer-after=0: a NOTIFY on top
    // would race the agent's own 200. Otherwise every path at once.
    if (why != AnswerReason::policy_immediate)
        out.push_back(SendAgentNotify{call.key, call.dn, call.call_id, call.call_uuid,
                                      call.agent_channel_name, "talk"});
    out.push_back(BridgeApiAnswer{call.key, call.dn, call.call_id, call.call_uuid});
    out.push_back(BridgeApiNotify{call.key, call.dn, call.call_id, call.call_uuid, "talk"});
    auto since = call.notify_talk_at ? now - *call.notify_talk_at : Clock::duration::zero();
    observer_.answer_requested(call, since);
}

void CallFlow::reject_genesys(Call& call, int q850, const std::string& outcome, TimePoint now,
                              Commands& out) {
    spdlog::info("rejecting Genesys leg ({}, cause {}): {}", outcome, q850, who(call));
    out.push_back(HangupChannel{call.key, call.genesys_channel, q850});
    end(call, outcome, now, out);
}

void CallFlow::end(Call& call, const std::string& outcome, TimePoint now, Commands& out) {
    if (agent_answered(call.state)) out.push_back(DestroyBridge{call.bridge});
    call.state = CallState::ended;
    call.outcome = outcome;
    call.ended_at = now;
    trace(call, TraceStep{now, TraceKind::ended, "", "", outcome, 0, false, {}});
    spdlog::info("call ended ({}): {}", outcome, who(call));
    observer_.call_ended(call, outcome);
    registry_.remove(call.key);
}

}  // namespace talkgate::flow

namespace talkgate::flow {

void CallFlow::trace(Call& call, TraceKind kind, TimePoint at) {
    TraceStep step;
    step.at = at;
    step.kind = kind;
    call.trace.add(config_.call_trace_steps, std::move(step));
}

void CallFlow::trace(Call& call, TraceStep step) {
    call.trace.add(config_.call_trace_steps, std::move(step));
}

void CallFlow::record(const std::string& call_key, TraceStep step) {
    if (Call* call = registry_.live_or_recent(call_key)) trace(*call, std::move(step));
}

void CallFlow::note_duplicate(const NotifyReceived& n, TimePoint now) {
    if (Call* call = match(n)) trace(*call, notify_step(n, now, true));
}

}  // namespace talkgate::flow
