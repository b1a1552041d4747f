#include "controller/controller.hpp"

#include "ami/client.hpp"
#include "bridge/bridge_api_client.hpp"
#include "controller/ari_translation.hpp"
#include "intake/hep_listener.hpp"
#include "intake/notify_deduplicator.hpp"
#include "intake/user_event_source.hpp"
#include "logging/rate_limit.hpp"
#include "metrics/talkgate_metrics.hpp"
#include "wire/cidr.hpp"
#include "wire/wire_text.hpp"

#include <ari/event_stream.hpp>
#include <ari/handler_guard.hpp>
#include <ari/rest_client.hpp>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdio>
#include <ctime>
#include <optional>
#include <unordered_map>

namespace talkgate::controller {

namespace {

using flow::Clock;

double seconds(std::chrono::nanoseconds d) {
    return std::chrono::duration<double>(d).count();
}

flow::NotifyReceived to_flow(const intake::NotifyEvent& n) {
    flow::NotifyReceived r;
    r.kind = n.kind == intake::NotifyKind::talk   ? flow::NotifyKind::talk
             : n.kind == intake::NotifyKind::hold ? flow::NotifyKind::hold
                                                  : flow::NotifyKind::other;
    r.event_name = n.event;
    r.call_id = n.call_id;
    r.dn = n.dn;
    r.call_uuid = n.call_uuid;
    r.cseq = n.cseq;
    r.source = intake::to_string(n.source);
    r.received_at = n.received_at;
    r.from_channel = n.source != intake::NotifySource::hep;
    r.channel = n.channel;
    return r;
}

// ARI's creationtime, e.g. 2026-11-30T22:48:47.541+0000.
std::optional<std::chrono::system_clock::time_point> parse_ari_time(const std::string& text) {
    std::tm tm{};
    int ms = 0;
    char sign = '+';
    int zone = 0;
    if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c%4d", &tm.tm_year, &tm.tm_mon,
                    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms, &sign, &zone) != 9)
        return std::nullopt;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    const std::time_t utc = timegm(&tm);
    if (utc == static_cast<std::time_t>(-1)) return std::nullopt;
    const int offset_s = (zone / 100 * 3600 + zone % 100 * 60) * (sign == '-' ? -1 : 1);
    return std::chrono::system_clock::from_time_t(utc - offset_s) + std::chrono::milliseconds(ms);
}

std::int64_t epoch_ms(Clock::time_point tp) {
    auto age = Clock::now() - tp;
    auto wall = std::chrono::system_clock::now() - age;
    return std::chrono::duration_cast<std::chrono::milliseconds>(wall.time_since_epoch()).count();
}

metrics::ActionOutcome outcome_of(bool ok, bool timed_out) {
    return ok          ? metrics::ActionOutcome::ok
           : timed_out ? metrics::ActionOutcome::timeout
                       : metrics::ActionOutcome::error;
}

}  // namespace

class Controller::Impl : public std::enable_shared_from_this<Controller::Impl>,
                         public flow::FlowObserver {
  public:
    Impl(boost::asio::io_context& io, const Config& config, metrics::TalkgateMetrics& metrics)
        : io_(io),
          config_(config),
          metrics_(metrics),
          flow_(config_, *this),
          ari_(ari_config(), [this](std::function<void()> f) { post(std::move(f)); }),
          bridge_(io, bridge_settings()) {
        std::string allow_error;  // load_config checked the list already
        if (!contact_allow_.parse(config_.bridge_api_contact_allow, allow_error))
            spdlog::error("BRIDGE_API_CONTACT_ALLOW: {}", allow_error);
    }

    bool start(std::string& error) {
        auto self = shared_from_this();
        std::weak_ptr<Impl> weak = self;
        if (config_.notify_sources.hep) {
            intake::HepListenerSettings hs;
            hs.listen_host = config_.hep_listen.host;
            hs.listen_port = config_.hep_listen.port;
            hs.intake.capture_password = config_.hep_password;
            // Runs on the io thread, where the listener reads; metrics are thread-safe anyway.
            hs.on_reject = [&metrics = metrics_](intake::HepReject reason) {
                metrics.notify_rejected.labels({intake::to_string(reason)}).inc();
            };
            hs.on_handler_error = metrics_.handler_error_counter("hep");
            std::string ip_error;
            if (!intake::parse_ip_list(config_.genesys_sip_hosts, hs.intake.genesys_hosts,
                                       ip_error)) {
                error = "GENESYS_SIP_HOST: " + ip_error;
                return false;
            }
            hep_ = std::make_unique<intake::HepListener>(io_, hs, [weak](intake::NotifyEvent n) {
                if (auto s = weak.lock()) s->on_notify(std::move(n));
            });
            if (auto ec = hep_->start()) {
                error = "HEP_LISTEN " + config_.hep_listen.host + ":" +
                        std::to_string(config_.hep_listen.port) + ": " + ec.message();
                return false;
            }
            hep_up_ = true;
            metrics_.set_connection(metrics::Peer::hep, true);
            spdlog::info("HEP listener on {}:{} (Genesys hosts: {})", config_.hep_listen.host,
                         hep_->local_endpoint().port(), join(config_.genesys_sip_hosts));
        }

        ami::Settings as;
        as.host = config_.asterisk_host;
        as.port = config_.ami_port;
        as.username = config_.ami_user;
        as.secret = config_.ami_secret;
        // Only what talkgate reads: UserEvent GenesysNotify (user) and Shutdown (system).
        as.events = "system,user";
        as.on_handler_error = metrics_.handler_error_counter("ami");
        ami_ = std::make_unique<ami::Client>(io_, as);
        ami_->on_event([weak](const ami::Message& m) {
            if (auto s = weak.lock()) s->guard_.run("AMI event", [&] { s->on_ami_event(m); });
        });
        ami_->on_state([weak](const ami::ConnectionState& st) {
            if (auto s = weak.lock()) s->guard_.run("AMI state", [&] { s->on_ami_state(st); });
        });
        ami_->start();

        events_ = std::make_unique<ari::EventStream>(
            ari_config(),
            [weak](std::function<void()> f) {
                if (auto s = weak.lock()) s->post(std::move(f));
            },
            [weak](ari::Event e) {
                if (auto s = weak.lock()) s->on_ari_event(e);
            },
            [weak](ari::ConnectionState st) {
                if (auto s = weak.lock()) s->on_ari_state(st);
            });
        events_->start();
        count_dropped_events();
        spdlog::info("Ready to handle auto-answer requests from Genesys! (app {}, policy {})",
                     config_.ari_app, to_string(config_.answer_policy));
        return true;
    }

    // Hangs up nothing: the calls stay in Asterisk, and the next start adopts them.
    void stop() {
        if (stopping_.exchange(true)) return;
        spdlog::info("stopping: {} call(s) stay up in Asterisk for the next start to adopt",
                     live_calls_.load());
        if (events_) events_->stop();
        if (ami_) ami_->stop();
        if (hep_) hep_->stop();
        for (auto& [id, timer] : timers_) timer->cancel();
        timers_.clear();
    }

    // status::StatusSource, from any thread.
    void calls(std::function<void(std::vector<status::CallView>)> done) {
        post([this, done = std::move(done)] { done(call_views()); });
    }

    status::Readiness readiness() const {
        status::Readiness r{};
        r.ari_required = true;
        r.ari_up = ari_up_;
        r.ami_required = true;
        r.ami_up = ami_up_;
        r.hep_required = config_.notify_sources.hep;
        r.hep_up = hep_up_;
        return r;
    }

    void request_answer(const std::string& dn,
                        std::function<void(status::AnswerOutcome, std::string)> done) {
        post([this, dn, done = std::move(done)] {
            auto r = flow_.answer_manually(dn, Clock::now());
            run(r.commands);
            switch (r.outcome) {
                case flow::ManualAnswerOutcome::requested:
                    done(status::AnswerOutcome::requested, r.detail);
                    break;
                case flow::ManualAnswerOutcome::no_such_call:
                    done(status::AnswerOutcome::no_such_call, r.detail);
                    break;
                case flow::ManualAnswerOutcome::not_ringing:
                    done(status::AnswerOutcome::not_ringing, r.detail);
                    break;
            }
        });
    }

    unsigned short hep_port() const { return hep_ ? hep_->local_endpoint().port() : 0; }

    // flow::FlowObserver: metrics.
    void notify_received(const flow::NotifyReceived& n) override {
        metrics_.notify(n.event_name, n.source);
    }
    void notify_rejected(const flow::NotifyReceived&, const char* reason) override {
        metrics_.notify_rejected.labels({reason}).inc();
    }
    void header_dropped(const char*) override {
        metrics_.notify_rejected.labels({"bad_header"}).inc();
    }
    void notify_unmatched(const flow::NotifyReceived& n) override {
        metrics_.notify_unmatched.labels({metrics::TalkgateMetrics::fold_event(n.event_name)})
            .inc();
    }
    void answer_requested(const flow::Call& c, std::chrono::nanoseconds since) override {
        if (c.notify_talk_at) metrics_.observe_notify_to_answer_command(seconds(since));
    }
    void genesys_answered(const flow::Call& c, std::chrono::nanoseconds since) override {
        if (c.notify_talk_at) metrics_.observe_notify_to_genesys_answered(seconds(since));
    }
    void call_ended(const flow::Call& c, const std::string& outcome) override {
        metrics_.calls.labels({outcome}).inc();
        pending_notifies_.erase(c.key);
    }
    void active_calls(std::size_t n) override {
        live_calls_ = n;
        metrics_.set_active_calls(static_cast<std::int64_t>(n));
    }
    void resync_repair(const std::string& action) override {
        metrics_.resync_repairs.labels({action}).inc();
    }

  private:
    // Every function run on the io thread goes through the guard: nothing escapes io.run().
    void post(std::function<void()> f) {
        boost::asio::post(io_, [weak = weak_from_this(), f = std::move(f)] {
            if (auto s = weak.lock()) s->guard_.run("posted function", f);
        });
    }

    static std::string join(const std::vector<std::string>& v) {
        std::string out;
        for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
        return out;
    }

    ari::ClientConfig ari_config() const {
        ari::ClientConfig c;
        c.base_url = config_.ari_url;
        c.user = config_.ari_user;
        c.password = config_.ari_password;
        c.app = config_.ari_app;
        c.ca_file = config_.ari_ca_file;
        c.insecure = config_.ari_insecure;
        c.request_timeout = std::chrono::milliseconds(3000);
        c.on_handler_error = metrics_.handler_error_counter("ari");
        return c;
    }

    bridge::BridgeApiClient::Settings bridge_settings() const {
        bridge::BridgeApiClient::Settings s;
        s.url_template = config_.bridge_api_url;
        s.ca_file = config_.bridge_api_ca_file;
        s.insecure = config_.bridge_api_insecure;
        s.timeout = config_.bridge_api_timeout;
        s.retries = config_.bridge_api_retries;
        s.on_handler_error = metrics_.handler_error_counter("bridge_api");
        return s;
    }

    void dispatch(const flow::Event& e) { run(flow_.handle(e, Clock::now())); }

    // NOTIFYs from every source meet here: one de-duplicator, so each acts once.
    void on_notify(intake::NotifyEvent n) {
        if (!n.dropped_header.empty()) {
            // The NOTIFY still acts (its Call-ID names the call); only the bad values are gone.
            metrics_.notify_rejected.labels({"bad_header"}).inc();
            std::uint64_t held_back = 0;
            if (dropped_header_log_.allow(held_back))
                spdlog::warn(
                    "NOTIFY {} Call-ID={} from {}: dropped {} (not visible ASCII or too long); "
                    "{} more since the last line",
                    n.event, n.call_id, intake::to_string(n.source), n.dropped_header, held_back);
        }
        if (!dedupe_.first_seen(n)) {
            metrics_.notify_duplicates.labels({intake::to_string(n.source)}).inc();
            spdlog::debug("NOTIFY {} Call-ID={} CSeq={} from {} already seen: dropped", n.event,
                          n.call_id, n.cseq, intake::to_string(n.source));
            return;
        }
        dispatch(to_flow(n));
    }

    void on_ari_event(const ari::Event& e) {
        if (config_.notify_sources.ari) {
            if (auto* ue = std::get_if<ari::ChannelUserevent>(&e)) {
                std::string err;
                if (auto n = intake::notify_from_ari_userevent(ue->raw, &err)) {
                    on_notify(std::move(*n));
                } else if (!err.empty()) {
                    user_event_rejected("ARI", err);
                }
                return;
            }
        }
        for (const auto& fe : translate(e)) dispatch(fe);
    }

    void on_ari_state(const ari::ConnectionState& st) {
        switch (st.kind) {
            case ari::ConnectionState::Kind::connected:
            case ari::ConnectionState::Kind::reconnected:
                spdlog::info("ARI events connected ({}): resyncing calls", to_string(st.kind));
                if (st.kind == ari::ConnectionState::Kind::reconnected)
                    metrics_.reconnected(metrics::Peer::ari);
                ari_up_ = true;
                metrics_.set_connection(metrics::Peer::ari, true);
                resync();
                break;
            case ari::ConnectionState::Kind::disconnected:
                spdlog::warn("ARI events disconnected: {}", st.reason);
                ari_up_ = false;
                metrics_.set_connection(metrics::Peer::ari, false);
                break;
            case ari::ConnectionState::Kind::application_replaced:
                spdlog::error(
                    "ARI app {} was taken by another client: this talkgate stops "
                    "handling calls (restart it once the other one is gone)",
                    config_.ari_app);
                ari_up_ = false;
                metrics_.set_connection(metrics::Peer::ari, false);
                break;
        }
    }

    void on_ami_event(const ami::Message& m) {
        if (!config_.notify_sources.ami) return;
        std::string err;
        if (auto n = intake::notify_from_ami_userevent(m.fields(), &err)) {
            on_notify(std::move(*n));
        } else if (!err.empty()) {
            user_event_rejected("AMI", err);
        }
    }

    void user_event_rejected(const char* source, const std::string& why) {
        metrics_.notify_rejected.labels({"malformed_user_event"}).inc();
        std::uint64_t held_back = 0;
        if (user_event_log_.allow(held_back))
            spdlog::warn("{} GenesysNotify user event rejected: {} ({} more since the last line)",
                         source, wire::escaped(why), held_back);
    }

    void on_ami_state(const ami::ConnectionState& st) {
        switch (st.kind) {
            case ami::ConnectionState::Kind::connected:
                spdlog::info("Connected to Asterisk AMI at {}:{} ({})", config_.asterisk_host,
                             config_.ami_port, st.banner);
                if (ami_seen_up_) {
                    metrics_.reconnected(metrics::Peer::ami);
                    resync();
                }
                ami_seen_up_ = true;
                ami_up_ = true;
                metrics_.set_connection(metrics::Peer::ami, true);
                resend_pending_notifies();
                break;
            case ami::ConnectionState::Kind::disconnected:
                if (ami_up_) spdlog::warn("AMI disconnected: {}", st.reason);
                ami_up_ = false;
                metrics_.set_connection(metrics::Peer::ami, false);
                break;
            case ami::ConnectionState::Kind::login_failed:
                spdlog::error("AMI login as '{}' refused: {} (check ASTERISK_AMI_USER/SECRET)",
                              config_.ami_user, st.reason);
                ami_up_ = false;
                metrics_.set_connection(metrics::Peer::ami, false);
                break;
        }
    }

    // Asterisk keeps no events for a disconnected app: rebuild from what it has now. Three
    // requests whatever the number of calls: the channels carry their variables (channelvars).
    void resync() {
        std::weak_ptr<Impl> weak = shared_from_this();
        // Calls that enter while the lists travel are not in them: the flow leaves those be.
        const auto requested_at = Clock::now();
        ari_.application_get(config_.ari_app, [weak,
                                               requested_at](ari::Result<ari::Application> app) {
            auto s = weak.lock();
            if (!s) return;
            if (!app) {
                spdlog::warn("resync: GET /applications failed: {}", app.error().describe());
                return;
            }
            std::vector<std::string> in_app = app.value().channel_ids;
            s->ari_.channels_list([weak, in_app,
                                   requested_at](ari::Result<std::vector<ari::Channel>> chans) {
                auto s2 = weak.lock();
                if (!s2) return;
                if (!chans) {
                    spdlog::warn("resync: GET /channels failed: {}", chans.error().describe());
                    return;
                }
                flow::Resync r;
                r.requested_at = requested_at;
                const auto wall_now = std::chrono::system_clock::now();
                for (const auto& c : chans.value()) {
                    flow::ChannelSnapshot snap;
                    snap.id = c.id;
                    snap.name = c.name;
                    snap.state = c.state;
                    snap.context = c.dialplan.context;
                    snap.exten = c.dialplan.exten;
                    snap.call_id = c.protocol_id;
                    snap.in_app = std::find(in_app.begin(), in_app.end(), c.id) != in_app.end();
                    snap.vars = c.channelvars;
                    if (auto created = parse_ari_time(c.creationtime))
                        snap.age = std::chrono::duration_cast<std::chrono::milliseconds>(wall_now -
                                                                                         *created);
                    r.channels.push_back(std::move(snap));
                }
                s2->ari_.bridges_list([weak, r = std::move(r), n_app = in_app.size()](
                                          ari::Result<std::vector<ari::Bridge>> bridges) mutable {
                    auto s3 = weak.lock();
                    if (!s3) return;
                    if (!bridges) {
                        spdlog::warn("resync: GET /bridges failed: {}", bridges.error().describe());
                        return;
                    }
                    for (const auto& b : bridges.value())
                        r.bridges.push_back(flow::BridgeSnapshot{b.id, b.name, b.channels});
                    spdlog::info(
                        "resync: Asterisk has {} channels ({} in app) and {} bridges; talkgate "
                        "tracks {} calls",
                        r.channels.size(), n_app, r.bridges.size(), s3->flow_.registry().size());
                    s3->dispatch(r);
                });
            });
        });
    }

    // Carries out the flow's commands; each completion comes back as an event.
    void run(const flow::Commands& commands) {
        for (const auto& c : commands) std::visit([this](const auto& cmd) { exec(cmd); }, c);
    }

    template <class T>
    std::function<void(ari::Result<T>)> on_failure(std::string key, flow::CommandKind kind,
                                                   std::function<void()> on_ok = nullptr) {
        std::weak_ptr<Impl> weak = shared_from_this();
        return [weak, key, kind, on_ok](ari::Result<T> r) {
            auto s = weak.lock();
            if (!s) return;
            if (r) {
                if (on_ok) on_ok();
                return;
            }
            s->dispatch(
                flow::CommandFailed{key, kind, r.error().http_status, r.error().describe()});
        };
    }

    void exec(const flow::CreateAgentLeg& c) {
        ari::CreateChannelParams p;
        p.endpoint = c.endpoint;
        p.app_args = c.app_args;
        p.channel_id = c.agent_channel_id;
        p.originator = c.originator;
        for (const auto& [k, v] : c.variables) p.variables[k] = v;
        ari_.channel_create(p,
                            on_failure<ari::Channel>(c.call_key, flow::CommandKind::create_agent));
    }

    void exec(const flow::DialAgent& c) {
        ari_.channel_dial(c.agent_channel_id, c.caller_channel_id, c.timeout_s,
                          on_failure<ari::NoContent>(c.call_key, flow::CommandKind::dial_agent));
    }

    void exec(const flow::RingGenesys& c) {
        ari_.channel_ring(c.channel_id,
                          on_failure<ari::NoContent>(c.call_key, flow::CommandKind::ring_genesys));
    }

    void exec(const flow::AnswerAndBridge& c) {
        std::weak_ptr<Impl> weak = shared_from_this();
        auto fail = [weak, key = c.call_key](const ari::Error& e) {
            if (auto s = weak.lock())
                s->dispatch(flow::CommandFailed{key, flow::CommandKind::answer_and_bridge,
                                                e.http_status, e.describe()});
        };
        ari_.channel_answer(c.genesys_channel_id, [weak, c, fail](ari::Result<ari::NoContent> r) {
            auto s = weak.lock();
            if (!s) return;
            if (!r) return fail(r.error());
            s->ari_.bridge_create(
                "mixing", c.bridge_id, "talkgate", [weak, c, fail](ari::Result<ari::Bridge> b) {
                    auto s2 = weak.lock();
                    if (!s2) return;
                    if (!b) return fail(b.error());
                    s2->ari_.bridge_add_channel(
                        c.bridge_id, c.genesys_channel_id + "," + c.agent_channel_id,
                        [weak, c, fail](ari::Result<ari::NoContent> a) {
                            auto s3 = weak.lock();
                            if (!s3) return;
                            if (!a) return fail(a.error());
                            s3->dispatch(flow::BridgeEstablished{c.call_key});
                        });
                });
        });
    }

    void exec(const flow::HangupChannel& c) {
        if (c.channel_id.empty()) return;
        ari_.channel_hangup(
            c.channel_id, "",
            [id = c.channel_id](ari::Result<ari::NoContent> r) {
                if (!r && r.error().http_status != 404)
                    spdlog::warn("hangup of {} failed: {}", id, r.error().describe());
            },
            c.reason_code);
    }

    void exec(const flow::SetChannelVar& c) {
        ari_.channel_set_variable(
            c.channel_id, c.name, c.value,
            [id = c.channel_id, name = c.name](ari::Result<ari::NoContent> r) {
                if (!r && r.error().http_status != 404)
                    spdlog::warn("setting {} on {} failed: {}", name, id, r.error().describe());
            });
    }

    void exec(const flow::DestroyBridge& c) {
        ari_.bridge_destroy(c.bridge_id, [id = c.bridge_id](ari::Result<ari::NoContent> r) {
            if (!r && r.error().http_status != 404)
                spdlog::warn("destroying bridge {} failed: {}", id, r.error().describe());
        });
    }

    void exec(const flow::StartTimer& c) {
        auto timer = std::make_shared<boost::asio::steady_timer>(io_, c.after);
        timers_[c.id] = timer;
        std::weak_ptr<Impl> weak = shared_from_this();
        timer->async_wait([weak, c](const boost::system::error_code& ec) {
            auto s = weak.lock();
            if (!s || ec) return;
            s->guard_.run("timer", [&] {
                s->timers_.erase(c.id);
                s->dispatch(flow::TimerFired{c.call_key, c.kind, c.id});
            });
        });
    }

    void exec(const flow::SendAgentNotify& c) {
        if (!ami_up_) {
            spdlog::warn(
                "PJSIPNotify Event={} to {} not sent: AMI is down; sent when AMI is back if the "
                "call still waits for it (DN={} Call-ID={} CallUUID={})",
                c.event, c.agent_channel_name, c.dn, c.call_id, c.call_uuid);
            metrics_.answer_action(metrics::AnswerPath::pjsip_notify,
                                   metrics::ActionOutcome::error);
            remember_notify(c);
            return;
        }
        std::weak_ptr<Impl> weak = shared_from_this();
        ami_->pjsip_notify_channel(
            c.agent_channel_name, c.event, [weak, c](ami::Result<ami::Message> r) {
                auto s = weak.lock();
                if (!s) return;
                bool timed_out = !r && r.error().kind == ami::Error::Kind::timeout;
                s->metrics_.answer_action(metrics::AnswerPath::pjsip_notify,
                                          outcome_of(bool(r), timed_out));
                // Lost with the connection: Asterisk may never have seen it.
                if (!r && (r.error().kind == ami::Error::Kind::disconnected ||
                           r.error().kind == ami::Error::Kind::not_connected))
                    s->remember_notify(c);
                if (r)
                    spdlog::info("PJSIPNotify Event={} sent to {}: DN={} Call-ID={} CallUUID={}",
                                 c.event, c.agent_channel_name, c.dn, c.call_id, c.call_uuid);
                else
                    spdlog::warn(
                        "PJSIPNotify Event={} to {} failed: {} (DN={} Call-ID={} "
                        "CallUUID={})",
                        c.event, c.agent_channel_name, r.error().describe(), c.dn, c.call_id,
                        c.call_uuid);
            });
    }

    // The ARI and AMI clients count what they drop (queue full, malformed, oversized); their
    // counters move talkgate_events_dropped_total{source} once a second.
    void count_dropped_events() {
        auto count = [this](const char* source, std::uint64_t total) {
            if (auto added = metrics_.events_dropped_since_start(source, total))
                spdlog::warn("{} {} event(s) dropped unread ({} since start)", added, source,
                             total);
        };
        if (events_) {
            const auto st = events_->stats();
            count("ari", st.dropped + st.malformed + st.oversized);
        }
        if (ami_) count("ami", ami_->stats().malformed_frames);
        if (stopping_) return;
        drop_poll_.expires_after(std::chrono::seconds(1));
        std::weak_ptr<Impl> weak = shared_from_this();
        drop_poll_.async_wait([weak](const boost::system::error_code& ec) {
            if (auto s = weak.lock(); s && !ec) s->count_dropped_events();
        });
    }

    // A PJSIPNotify AMI could not take, kept until AMI is back. The call's state now is the
    // one that wanted it (answer_requested for talk, held for hold, connected for retrieve);
    // the latest per call wins.
    void remember_notify(const flow::SendAgentNotify& c) {
        const flow::Call* call = live_call(c.call_key);
        if (!call) return;
        pending_notifies_[c.call_key] = PendingNotify{c, call->state};
    }

    const flow::Call* live_call(const std::string& key) const {
        for (const flow::Call* c : flow_.registry().all())
            if (c->key == key) return c;
        return nullptr;
    }

    void resend_pending_notifies() {
        auto pending = std::move(pending_notifies_);
        pending_notifies_.clear();
        for (auto& [key, p] : pending) {
            const flow::Call* call = live_call(key);
            if (!call || call->state != p.wanted_in ||
                call->agent_channel_name != p.command.agent_channel_name) {
                spdlog::info(
                    "PJSIPNotify Event={} to {} no longer wanted: not sent (DN={} "
                    "Call-ID={})",
                    p.command.event, p.command.agent_channel_name, p.command.dn, p.command.call_id);
                continue;
            }
            spdlog::info("AMI is back: sending PJSIPNotify Event={} to {} again (DN={} Call-ID={})",
                         p.command.event, p.command.agent_channel_name, p.command.dn,
                         p.command.call_id);
            exec(p.command);
        }
    }

    void exec(const flow::BridgeApiAnswer& c) {
        with_contact_host(c.dn, [this, c](const std::string& host) {
            std::weak_ptr<Impl> weak = shared_from_this();
            spdlog::info("Calling Bridge API: {}/answer/{} (Call-ID={} CallUUID={})",
                         url_without_credentials(bridge_.base_url(c.dn, host)), c.dn, c.call_id,
                         c.call_uuid);
            std::string who = "DN=" + c.dn + " Call-ID=" + c.call_id + " CallUUID=" + c.call_uuid;
            bridge_.answer(c.dn, host, [weak, who](const bridge::BridgeApiClient::Outcome& o) {
                if (auto s = weak.lock())
                    s->guard_.run("bridge API answer handler", [&] {
                        s->bridge_done(metrics::AnswerPath::bridge_answer, "answer", o, who);
                    });
            });
        });
    }

    void exec(const flow::BridgeApiNotify& c) {
        with_contact_host(c.dn, [this, c](const std::string& host) {
            std::weak_ptr<Impl> weak = shared_from_this();
            std::string who = "DN=" + c.dn + " Call-ID=" + c.call_id + " CallUUID=" + c.call_uuid;
            bridge_.notify(c.dn, host, c.call_id, c.call_uuid, c.event,
                           [weak, who](const bridge::BridgeApiClient::Outcome& o) {
                               if (auto s = weak.lock())
                                   s->guard_.run("bridge API notify handler", [&] {
                                       s->bridge_done(metrics::AnswerPath::bridge_notify,
                                                      "genesys-call-notify", o, who);
                                   });
                           });
        });
    }

    void bridge_done(metrics::AnswerPath path, const char* endpoint,
                     const bridge::BridgeApiClient::Outcome& o, const std::string& who) {
        metrics_.answer_action(path, outcome_of(o.ok, o.timed_out));
        metrics_.bridge_api_request_seconds.labels({endpoint}).observe(seconds(o.latency));
        if (o.ok)
            spdlog::info("Bridge API {} answered {} in {} ms: {}", o.url, o.http_status,
                         std::chrono::duration_cast<std::chrono::milliseconds>(o.latency).count(),
                         who);
        else
            spdlog::warn("Bridge API {} failed after {} attempt(s): {}: {}", o.url, o.attempts,
                         o.error, who);
    }

    // Runs `f` with the agent's contact host when the bridge URL needs it (cached 30 s).
    void with_contact_host(const std::string& dn, std::function<void(const std::string&)> f) {
        if (!bridge_.enabled()) return;
        if (!bridge_.needs_contact_host()) return f("");
        auto it = contact_hosts_.find(dn);
        if (it != contact_hosts_.end() &&
            Clock::now() - it->second.second < std::chrono::seconds(30))
            return f(it->second.first);
        std::weak_ptr<Impl> weak = shared_from_this();
        ami_->pjsip_show_contacts([weak, dn, f](ami::Result<std::vector<ami::Contact>> r) {
            auto s = weak.lock();
            if (!s) return;
            const ami::Contact* c = r ? ami::contact_for_aor(r.value(), dn) : nullptr;
            if (c == nullptr) {
                spdlog::warn("bridge API for DN {} needs its contact host, but {}", dn,
                             r ? "the agent has no registered contact" : r.error().describe());
                s->metrics_.answer_action(metrics::AnswerPath::bridge_answer,
                                          metrics::ActionOutcome::error);
                s->metrics_.bridge_api_refused.labels({"no_contact"}).inc();
                return;
            }
            // A registration names the contact: only hosts the operator allowed get requests.
            if (!s->contact_allow_.allows(c->host)) {
                s->metrics_.bridge_api_refused.labels({"contact_not_allowed"}).inc();
                s->metrics_.answer_action(metrics::AnswerPath::bridge_answer,
                                          metrics::ActionOutcome::error);
                std::uint64_t held_back = 0;
                if (s->contact_refused_log_.allow(held_back))
                    spdlog::warn(
                        "bridge API for DN {} refused: contact host '{}' is not in "
                        "BRIDGE_API_CONTACT_ALLOW ({} more since the last line)",
                        dn, wire::escaped(c->host, 80), held_back);
                return;
            }
            s->contact_hosts_[dn] = {c->host, Clock::now()};
            f(c->host);
        });
    }

    std::vector<status::CallView> call_views() const {
        std::vector<status::CallView> out;
        for (const flow::Call* c : flow_.registry().all()) {
            status::CallView v;
            v.id = c->key;
            v.dn = c->dn;
            v.state = to_string(c->state);
            v.call_id = c->call_id;
            v.call_uuid = c->call_uuid;
            v.genesys_channel = c->genesys_channel;
            v.agent_channel = c->agent_channel;
            v.bridge = c->state == flow::CallState::connected || c->state == flow::CallState::held
                           ? c->bridge
                           : "";
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

    boost::asio::io_context& io_;
    const Config& config_;
    metrics::TalkgateMetrics& metrics_;
    flow::CallFlow flow_;
    ari::RestClient ari_;
    bridge::BridgeApiClient bridge_;
    std::unique_ptr<ari::EventStream> events_;
    std::unique_ptr<ami::Client> ami_;
    std::unique_ptr<intake::HepListener> hep_;
    intake::NotifyDeduplicator dedupe_;  // across HEP, AMI and ARI: each NOTIFY acts once
    std::unordered_map<std::uint64_t, std::shared_ptr<boost::asio::steady_timer>> timers_;
    std::unordered_map<std::string, std::pair<std::string, Clock::time_point>> contact_hosts_;
    std::atomic<bool> ari_up_{false};
    std::atomic<bool> ami_up_{false};
    std::atomic<bool> hep_up_{false};
    bool ami_seen_up_ = false;
    struct PendingNotify {
        flow::SendAgentNotify command;
        flow::CallState wanted_in;  // the call's state when it was sent
    };
    std::unordered_map<std::string, PendingNotify> pending_notifies_;  // by call key
    boost::asio::steady_timer drop_poll_{io_};  // reads the clients' drop counters
    std::atomic<bool> stopping_{false};         // stop() was called: no more polling
    std::atomic<std::size_t> live_calls_{0};    // for the stop log line, from any thread
    logging::RateLimit dropped_header_log_;     // one line per 10 s for NOTIFYs with bad values
    logging::RateLimit user_event_log_;         // one line per 10 s for malformed user events
    logging::RateLimit contact_refused_log_;    // one line per 10 s for refused contact hosts
    wire::HostAllowList contact_allow_;         // BRIDGE_API_CONTACT_ALLOW
    // Catches what a handler on the io thread did not expect: logged, counted, not fatal.
    ari::HandlerGuard guard_{"controller",
                             [this] { metrics_.handler_errors.labels({"controller"}).inc(); }};
};

Controller::Controller(boost::asio::io_context& io, const Config& config,
                       metrics::TalkgateMetrics& metrics)
    : impl_(std::make_shared<Impl>(io, config, metrics)) {}

Controller::~Controller() {
    impl_->stop();
}

bool Controller::start(std::string& error) {
    return impl_->start(error);
}
void Controller::stop() {
    impl_->stop();
}

void Controller::calls(std::function<void(std::vector<status::CallView>)> done) {
    impl_->calls(std::move(done));
}

status::Readiness Controller::readiness() const {
    return impl_->readiness();
}

void Controller::request_answer(const std::string& dn,
                                std::function<void(status::AnswerOutcome, std::string)> done) {
    impl_->request_answer(dn, std::move(done));
}

unsigned short Controller::hep_port() const {
    return impl_->hep_port();
}

}  // namespace talkgate::controller
