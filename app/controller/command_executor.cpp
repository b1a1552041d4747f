#include "controller/command_executor.hpp"

#include "ami/client.hpp"
#include "metrics/talkgate_metrics.hpp"
#include "wire/wire_text.hpp"

#include <spdlog/spdlog.h>

namespace talkgate::controller {

namespace {

double seconds(std::chrono::nanoseconds d) {
    return std::chrono::duration<double>(d).count();
}

metrics::ActionOutcome outcome_of(bool ok, bool timed_out) {
    return ok          ? metrics::ActionOutcome::ok
           : timed_out ? metrics::ActionOutcome::timeout
                       : metrics::ActionOutcome::error;
}

std::string who(const std::string& dn, const std::string& call_id, const std::string& uuid) {
    return "DN=" + dn + " Call-ID=" + call_id + " CallUUID=" + uuid;
}

}  // namespace

CommandExecutor::CommandExecutor(boost::asio::io_context& io, const Config& config,
                                 metrics::TalkgateMetrics& metrics, Peers peers,
                                 std::shared_ptr<ari::HandlerGuard> guard, FindCall find_call,
                                 Dispatch dispatch)
    : io_(io),
      config_(config),
      metrics_(metrics),
      peers_(std::move(peers)),
      guard_(std::move(guard)),
      find_call_(std::move(find_call)),
      dispatch_(std::move(dispatch)) {
    std::string allow_error;  // load_config checked the list already
    if (!contact_allow_.parse(config_.bridge_api_contact_allow, allow_error))
        spdlog::error("BRIDGE_API_CONTACT_ALLOW: {}", allow_error);
}

void CommandExecutor::run(const flow::Commands& commands) {
    for (const auto& c : commands) std::visit([this](const auto& cmd) { exec(cmd); }, c);
}

void CommandExecutor::stop() {
    for (auto& [id, timer] : timers_) timer->cancel();
    timers_.clear();
}

void CommandExecutor::call_ended(const std::string& call_key) {
    pending_notifies_.erase(call_key);
}

// An ARI command whose failure the flow must hear of; success needs no event.
template <class T>
std::function<void(ari::Result<T>)> CommandExecutor::failure_to_flow(std::string key,
                                                                     flow::CommandKind kind) {
    std::weak_ptr<CommandExecutor> weak = shared_from_this();
    return [weak, key, kind](ari::Result<T> r) {
        auto s = weak.lock();
        if (!s || r) return;
        s->dispatch_(flow::CommandFailed{key, kind, r.error().http_status, r.error().describe()});
    };
}

void CommandExecutor::exec(const flow::CreateAgentLeg& c) {
    ari::CreateChannelParams p;
    p.endpoint = c.endpoint;
    p.app_args = c.app_args;
    p.channel_id = c.agent_channel_id;
    p.originator = c.originator;
    for (const auto& [k, v] : c.variables) p.variables[k] = v;
    peers_.ari->channel_create(
        p, failure_to_flow<ari::Channel>(c.call_key, flow::CommandKind::create_agent));
}

void CommandExecutor::exec(const flow::DialAgent& c) {
    peers_.ari->channel_dial(
        c.agent_channel_id, c.caller_channel_id, c.timeout_s,
        failure_to_flow<ari::NoContent>(c.call_key, flow::CommandKind::dial_agent));
}

void CommandExecutor::exec(const flow::RingGenesys& c) {
    peers_.ari->channel_ring(
        c.channel_id, failure_to_flow<ari::NoContent>(c.call_key, flow::CommandKind::ring_genesys));
}

// Answer the Genesys leg, then create the bridge, then add both legs: each step needs the one
// before, and the flow hears once, of the bridge or of the first failure.
void CommandExecutor::exec(const flow::AnswerAndBridge& c) {
    std::weak_ptr<CommandExecutor> weak = shared_from_this();
    auto fail = [weak, key = c.call_key](const ari::Error& e) {
        if (auto s = weak.lock())
            s->dispatch_(flow::CommandFailed{key, flow::CommandKind::answer_and_bridge,
                                             e.http_status, e.describe()});
    };
    // Answering and creating the bridge do not depend on each other: both go out at once, one
    // round trip off the answer's path; the legs join the bridge once both are done.
    auto pending = std::make_shared<int>(2);
    auto then_join = [weak, c, fail, pending](const ari::Error* error) {
        if (*pending <= 0) return;  // the other one failed already
        if (error) {
            *pending = 0;
            return fail(*error);
        }
        if (--*pending > 0) return;
        auto s = weak.lock();
        if (!s) return;
        s->peers_.ari->bridge_add_channel(c.bridge_id,
                                          c.genesys_channel_id + "," + c.agent_channel_id,
                                          [weak, c, fail](ari::Result<ari::NoContent> a) {
                                              auto s2 = weak.lock();
                                              if (!s2) return;
                                              if (!a) return fail(a.error());
                                              s2->dispatch_(flow::BridgeEstablished{c.call_key});
                                          });
    };
    peers_.ari->channel_answer(c.genesys_channel_id, [then_join](ari::Result<ari::NoContent> r) {
        then_join(r ? nullptr : &r.error());
    });
    peers_.ari->bridge_create(
        "mixing", c.bridge_id, "talkgate",
        [then_join](ari::Result<ari::Bridge> b) { then_join(b ? nullptr : &b.error()); });
}

void CommandExecutor::exec(const flow::HangupChannel& c) {
    if (c.channel_id.empty()) return;
    peers_.ari->channel_hangup(
        c.channel_id, "",
        [id = c.channel_id](ari::Result<ari::NoContent> r) {
            if (!r && r.error().http_status != 404)
                spdlog::warn("hangup of {} failed: {}", id, r.error().describe());
        },
        c.reason_code);
}

void CommandExecutor::exec(const flow::SetChannelVar& c) {
    peers_.ari->channel_set_variable(
        c.channel_id, c.name, c.value,
        [id = c.channel_id, name = c.name](ari::Result<ari::NoContent> r) {
            if (!r && r.error().http_status != 404)
                spdlog::warn("setting {} on {} failed: {}", name, id, r.error().describe());
        });
}

void CommandExecutor::exec(const flow::DestroyBridge& c) {
    peers_.ari->bridge_destroy(c.bridge_id, [id = c.bridge_id](ari::Result<ari::NoContent> r) {
        if (!r && r.error().http_status != 404)
            spdlog::warn("destroying bridge {} failed: {}", id, r.error().describe());
    });
}

void CommandExecutor::exec(const flow::StartTimer& c) {
    auto timer = std::make_shared<boost::asio::steady_timer>(io_, c.after);
    timers_[c.id] = timer;
    std::weak_ptr<CommandExecutor> weak = shared_from_this();
    timer->async_wait([weak, c](const boost::system::error_code& ec) {
        auto s = weak.lock();
        if (!s || ec) return;
        s->guard_->run("timer", [&] {
            s->timers_.erase(c.id);
            s->dispatch_(flow::TimerFired{c.call_key, c.kind, c.id});
        });
    });
}

void CommandExecutor::exec(const flow::SendAgentNotify& c) {
    if (!ami_up_) {
        spdlog::warn(
            "PJSIPNotify Event={} to {} not sent: AMI is down; sent when AMI is back if the "
            "call still waits for it ({})",
            c.event, c.agent_channel_name, who(c.dn, c.call_id, c.call_uuid));
        action_done(c.call_key, metrics::AnswerPath::pjsip_notify, c.event,
                    metrics::ActionOutcome::error);
        keep_notify(c);
        return;
    }
    std::weak_ptr<CommandExecutor> weak = shared_from_this();
    peers_.ami->pjsip_notify_channel(
        c.agent_channel_name, c.event,
        [weak, c, sent = flow::Clock::now()](ami::Result<ami::Message> r) {
            auto s = weak.lock();
            if (!s) return;
            const bool timed_out = !r && r.error().kind == ami::Error::Kind::timeout;
            s->action_done(c.call_key, metrics::AnswerPath::pjsip_notify, c.event,
                           outcome_of(bool(r), timed_out), flow::Clock::now() - sent);
            // Lost with the connection: Asterisk may never have seen it.
            if (!r && (r.error().kind == ami::Error::Kind::disconnected ||
                       r.error().kind == ami::Error::Kind::not_connected))
                s->keep_notify(c);
            if (r)
                spdlog::info("PJSIPNotify Event={} sent to {}: {}", c.event, c.agent_channel_name,
                             who(c.dn, c.call_id, c.call_uuid));
            else
                spdlog::warn("PJSIPNotify Event={} to {} failed: {} ({})", c.event,
                             c.agent_channel_name, r.error().describe(),
                             who(c.dn, c.call_id, c.call_uuid));
        });
}

// A PJSIPNotify AMI could not take, kept until AMI is back. The call's state now is the one
// that wanted it (answer_requested for talk, held for hold, connected for retrieve); the
// latest per call wins.
void CommandExecutor::keep_notify(const flow::SendAgentNotify& c) {
    const flow::Call* call = find_call_(c.call_key);
    if (!call) return;
    pending_notifies_[c.call_key] = PendingNotify{c, call->state};
}

void CommandExecutor::ami_up(bool up) {
    ami_up_ = up;
    if (!up) return;
    auto pending = std::move(pending_notifies_);
    pending_notifies_.clear();
    for (auto& [key, p] : pending) {
        const flow::Call* call = find_call_(key);
        if (!call || call->state != p.wanted_in ||
            call->agent_channel_name != p.command.agent_channel_name) {
            spdlog::info("PJSIPNotify Event={} to {} no longer wanted: not sent (DN={} Call-ID={})",
                         p.command.event, p.command.agent_channel_name, p.command.dn,
                         p.command.call_id);
            continue;
        }
        spdlog::info("AMI is back: sending PJSIPNotify Event={} to {} again (DN={} Call-ID={})",
                     p.command.event, p.command.agent_channel_name, p.command.dn,
                     p.command.call_id);
        exec(p.command);
    }
}

void CommandExecutor::exec(const flow::BridgeApiAnswer& c) {
    with_contact_host(c.call_key, "talk", metrics::AnswerPath::bridge_answer, c.dn,
                      [this, c](const std::string& host) {
                          std::weak_ptr<CommandExecutor> weak = shared_from_this();
                          spdlog::info("Calling Bridge API: {}/answer/{} (Call-ID={} CallUUID={})",
                                       url_without_credentials(peers_.bridge->base_url(c.dn, host)),
                                       c.dn, c.call_id, c.call_uuid);
                          peers_.bridge->answer(
                              c.dn, host,
                              [weak, key = c.call_key, who = who(c.dn, c.call_id, c.call_uuid)](
                                  const bridge::BridgeApiClient::Outcome& o) {
                                  if (auto s = weak.lock())
                                      s->guard_->run("bridge API answer handler", [&] {
                                          s->bridge_done(key, "talk", true, o, who);
                                      });
                              });
                      });
}

void CommandExecutor::exec(const flow::BridgeApiNotify& c) {
    with_contact_host(
        c.call_key, c.event, metrics::AnswerPath::bridge_notify, c.dn,
        [this, c](const std::string& host) {
            std::weak_ptr<CommandExecutor> weak = shared_from_this();
            peers_.bridge->notify(
                c.dn, host, c.call_id, c.call_uuid, c.event,
                [weak, key = c.call_key, event = c.event, who = who(c.dn, c.call_id, c.call_uuid)](
                    const bridge::BridgeApiClient::Outcome& o) {
                    if (auto s = weak.lock())
                        s->guard_->run("bridge API notify handler",
                                       [&] { s->bridge_done(key, event, false, o, who); });
                });
        });
}

void CommandExecutor::action_done(const std::string& key, metrics::AnswerPath path,
                                  const std::string& event, metrics::ActionOutcome outcome,
                                  std::optional<std::chrono::nanoseconds> latency) {
    metrics_.answer_action(path, outcome);
    if (!trace_) return;
    flow::TraceStep step;
    step.at = flow::Clock::now();
    step.kind = flow::TraceKind::answer_action;
    step.event = event;
    step.source = metrics::to_string(path);
    step.outcome = metrics::to_string(outcome);
    step.latency = latency;
    trace_(key, std::move(step));
}

void CommandExecutor::bridge_done(const std::string& key, const std::string& event, bool answer,
                                  const bridge::BridgeApiClient::Outcome& o,
                                  const std::string& who) {
    action_done(key,
                answer ? metrics::AnswerPath::bridge_answer : metrics::AnswerPath::bridge_notify,
                event, outcome_of(o.ok, o.timed_out), o.latency);
    metrics_.bridge_api_request_seconds.labels({answer ? "answer" : "genesys-call-notify"})
        .observe(seconds(o.latency));
    if (o.ok)
        spdlog::info("Bridge API {} answered {} in {} ms: {}", o.url, o.http_status,
                     std::chrono::duration_cast<std::chrono::milliseconds>(o.latency).count(), who);
    else
        spdlog::warn("Bridge API {} failed after {} attempt(s): {}: {}", o.url, o.attempts, o.error,
                     who);
}

// Runs `f` with the agent's contact host when the bridge URL needs it (cached 30 s).
void CommandExecutor::with_contact_host(const std::string& key, const std::string& event,
                                        metrics::AnswerPath path, const std::string& dn,
                                        std::function<void(const std::string&)> f) {
    if (!peers_.bridge->enabled()) return;
    if (!peers_.bridge->needs_contact_host()) return f("");
    auto it = contact_hosts_.find(dn);
    if (it != contact_hosts_.end() &&
        flow::Clock::now() - it->second.second < std::chrono::seconds(30))
        return f(it->second.first);
    std::weak_ptr<CommandExecutor> weak = shared_from_this();
    peers_.ami->pjsip_show_contacts(
        [weak, key, event, path, dn, f](ami::Result<std::vector<ami::Contact>> r) {
            auto s = weak.lock();
            if (!s) return;
            const ami::Contact* c = r ? ami::contact_for_aor(r.value(), dn) : nullptr;
            if (c == nullptr) {
                spdlog::warn("bridge API for DN {} needs its contact host, but {}", dn,
                             r ? "the agent has no registered contact" : r.error().describe());
                s->action_done(key, path, event, metrics::ActionOutcome::error);
                s->metrics_.bridge_api_refused.labels({"no_contact"}).inc();
                return;
            }
            // A registration names the contact: only hosts the operator allowed get requests.
            if (!s->contact_allow_.allows(c->host)) {
                s->metrics_.bridge_api_refused.labels({"contact_not_allowed"}).inc();
                s->action_done(key, path, event, metrics::ActionOutcome::error);
                std::uint64_t held_back = 0;
                if (s->contact_refused_log_.allow(held_back))
                    spdlog::warn(
                        "bridge API for DN {} refused: contact host '{}' is not in "
                        "BRIDGE_API_CONTACT_ALLOW ({} more since the last line)",
                        dn, wire::escaped(c->host, 80), held_back);
                return;
            }
            s->contact_hosts_[dn] = {c->host, flow::Clock::now()};
            f(c->host);
        });
}

}  // namespace talkgate::controller
