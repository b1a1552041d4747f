// talkgate's wiring: the call flow in the middle, and around it the pieces that feed it and
// carry out what it decides:
//
//   HEP listener, AMI and ARI user events -> NotifyGate (once per NOTIFY) -> flow
//   ARI events -> translate() -> flow
//   ARI/AMI connection states -> ConnectionSupervisor (readiness, resync) -> flow
//   flow's commands -> CommandExecutor (ARI REST, AMI, bridge API, timers) -> events -> flow
//   status API -> status adapter (call views, manual answer); LiveFeed -> the live web page
//
// Everything runs on the io_context's thread; what other threads hand in is posted there.
#include "controller/controller.hpp"

#include "ami/client.hpp"
#include "bridge/bridge_api_client.hpp"
#include "controller/answer_latency.hpp"
#include "controller/ari_translation.hpp"
#include "controller/command_executor.hpp"
#include "controller/connection_supervisor.hpp"
#include "controller/live_feed.hpp"
#include "controller/notify_gate.hpp"
#include "controller/status_adapter.hpp"
#include "intake/hep_listener.hpp"
#include "metrics/talkgate_metrics.hpp"

#include <ari/event_stream.hpp>
#include <ari/handler_guard.hpp>
#include <ari/rest_client.hpp>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include <array>
#include <sstream>

namespace talkgate::controller {

namespace {

using flow::Clock;

double seconds(std::chrono::nanoseconds d) {
    return std::chrono::duration<double>(d).count();
}

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
    return out;
}

ari::ClientConfig ari_config(const Config& config, metrics::TalkgateMetrics& metrics) {
    ari::ClientConfig c;
    c.base_url = config.ari_url;
    c.user = config.ari_user;
    c.password = config.ari_password;
    c.app = config.ari_app;
    c.ca_file = config.ari_ca_file;
    c.insecure = config.ari_insecure;
    c.request_timeout = std::chrono::milliseconds(3000);
    c.on_handler_error = metrics.handler_error_counter("ari");
    return c;
}

bridge::BridgeApiClient::Settings bridge_settings(const Config& config,
                                                  metrics::TalkgateMetrics& metrics) {
    bridge::BridgeApiClient::Settings s;
    s.url_template = config.bridge_api_url;
    s.ca_file = config.bridge_api_ca_file;
    s.insecure = config.bridge_api_insecure;
    s.timeout = config.bridge_api_timeout;
    s.retries = config.bridge_api_retries;
    s.on_handler_error = metrics.handler_error_counter("bridge_api");
    return s;
}

ami::Settings ami_settings(const Config& config, metrics::TalkgateMetrics& metrics) {
    ami::Settings as;
    as.host = config.asterisk_host;
    as.port = config.ami_port;
    as.username = config.ami_user;
    as.secret = config.ami_secret;
    // Only what talkgate reads: UserEvent GenesysNotify (user) and Shutdown (system).
    as.events = "system,user";
    as.on_handler_error = metrics.handler_error_counter("ami");
    return as;
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
          ari_(std::make_shared<ari::RestClient>(
              ari_config(config_, metrics_),
              [this](std::function<void()> f) { post(std::move(f)); })),
          ami_(std::make_shared<ami::Client>(io_, ami_settings(config_, metrics_))),
          notifies_(config_.notify_sources, metrics_,
                    [this](flow::NotifyReceived n) { dispatch(n); }) {}

    // The pieces call back into the flow through `weak`: none outlives the controller's use.
    void wire() {
        std::weak_ptr<Impl> weak = shared_from_this();
        auto dispatch = [weak](const flow::Event& e) {
            if (auto s = weak.lock()) s->dispatch(e);
        };
        executor_ = std::make_shared<CommandExecutor>(
            io_, config_, metrics_,
            CommandExecutor::Peers{
                ari_, ami_,
                std::make_shared<bridge::BridgeApiClient>(io_, bridge_settings(config_, metrics_))},
            guard_,
            [weak](const std::string& key) -> const flow::Call* {
                auto s = weak.lock();
                return s ? s->flow_.registry().find(key) : nullptr;
            },
            dispatch);
        executor_->on_trace([weak](const std::string& key, flow::TraceStep step) {
            if (auto s = weak.lock()) {
                s->flow_.record(key, std::move(step));
                s->live_->changed();
            }
        });
        notifies_.on_duplicate([weak](flow::NotifyReceived n) {
            if (auto s = weak.lock()) {
                s->flow_.note_duplicate(n, Clock::now());
                s->live_->changed();
            }
        });
        live_ = std::make_shared<LiveFeed>(io_, std::chrono::milliseconds(200), guard_,
                                           [weak]() -> status::LiveView {
                                               auto s = weak.lock();
                                               return s ? s->live_view() : status::LiveView{};
                                           });
        ConnectionSupervisor::Hooks hooks;
        hooks.resync = [weak](flow::Resync r) {
            if (auto s = weak.lock()) s->dispatch(r);
        };
        hooks.ami_up = [weak](bool up) {
            if (auto s = weak.lock()) s->executor_->ami_up(up);
        };
        hooks.tracked_calls = [weak] {
            auto s = weak.lock();
            return s ? s->flow_.registry().size() : std::size_t{0};
        };
        supervisor_ =
            std::make_shared<ConnectionSupervisor>(io_, config_, metrics_, ari_, std::move(hooks));
    }

    bool start(std::string& error) {
        std::weak_ptr<Impl> weak = shared_from_this();
        if (config_.notify_sources.hep && !start_hep(error)) return false;

        ami_->on_event([weak](const ami::Message& m) {
            if (auto s = weak.lock())
                s->guard_->run("AMI event", [&] { s->notifies_.from_ami(m); });
        });
        ami_->on_state([weak](const ami::ConnectionState& st) {
            if (auto s = weak.lock())
                s->guard_->run("AMI state", [&] { s->supervisor_->on_ami_state(st); });
        });
        ami_->start();

        auto events_config = ari_config(config_, metrics_);
        events_config.events_io =
            &io_;  // the WebSocket runs on talkgate's loop, no thread of its own
        events_ = std::make_shared<ari::EventStream>(
            events_config,
            [weak](std::function<void()> f) {
                if (auto s = weak.lock()) s->post(std::move(f));
            },
            [weak](ari::Event e) {
                if (auto s = weak.lock()) s->on_ari_event(e);
            },
            [weak](ari::ConnectionState st) {
                if (auto s = weak.lock()) s->supervisor_->on_ari_state(st);
            });
        events_->start();
        supervisor_->watch_drops(events_, ami_);
        spdlog::info("Ready to handle auto-answer requests from Genesys! (app {}, policy {})",
                     config_.ari_app, to_string(config_.answer_policy));
        return true;
    }

    // Hangs up nothing: the calls stay in Asterisk, and the next start adopts them.
    void stop() {
        if (stopping_.exchange(true)) return;
        spdlog::info("stopping: {} call(s) stay up in Asterisk for the next start to adopt",
                     live_calls_.load());
        supervisor_->stop();
        live_->stop();
        if (events_) events_->stop();
        ami_->stop();
        if (hep_) hep_->stop();
        executor_->stop();
    }

    // status::StatusSource, from any thread.
    void calls(std::function<void(std::vector<status::CallView>)> done) {
        post([this, done = std::move(done)] {
            done(call_views(flow_.registry(), Clock::now(), std::chrono::system_clock::now()));
        });
    }

    status::Readiness readiness() const { return supervisor_->readiness(); }

    void live(std::function<void(status::LiveView)> done) {
        post([this, done = std::move(done)] { done(live_view()); });
    }

    void watch(std::weak_ptr<status::LiveWatcher> watcher) {
        post([this, watcher = std::move(watcher)] { live_->watch(watcher); });
    }

    void trace(const std::string& id, std::function<void(std::optional<status::TraceView>)> done) {
        post([this, id, done = std::move(done)] {
            done(trace_view(flow_.registry(), id, Clock::now(), std::chrono::system_clock::now()));
        });
    }

    void recent_calls(std::function<void(std::vector<status::RecentCallView>)> done) {
        post([this, done = std::move(done)] {
            done(recent_views(flow_.registry(), Clock::now(), std::chrono::system_clock::now()));
        });
    }

    void request_answer(const std::string& dn,
                        std::function<void(status::AnswerOutcome, std::string)> done) {
        post([this, dn, done = std::move(done)] {
            auto r = flow_.answer_manually(dn, Clock::now());
            executor_->run(r.commands);
            live_->changed();
            done(to_status(r.outcome), r.detail);
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
        if (!c.notify_talk_at) return;
        metrics_.observe_notify_to_genesys_answered(seconds(since));
        latency_.record(c.dn, Clock::now(), since);
    }
    void call_ended(const flow::Call& c, const std::string& outcome) override {
        metrics_.calls.labels({outcome}).inc();
        executor_->call_ended(c.key);
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
            if (auto s = weak.lock()) s->guard_->run("posted function", f);
        });
    }

    void dispatch(const flow::Event& e) {
        executor_->run(flow_.handle(e, Clock::now()));
        live_->changed();
    }

    // The web page's view: live calls, the newest ended ones, answer latency per DN.
    status::LiveView live_view() {
        const auto now = Clock::now();
        const auto wall = std::chrono::system_clock::now();
        status::LiveView v;
        v.seq = ++live_seq_;
        v.now_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(wall.time_since_epoch()).count();
        v.calls = call_views(flow_.registry(), now, wall);
        v.recent = recent_views(flow_.registry(), now, wall);
        if (v.recent.size() > kLiveRecentCalls) v.recent.resize(kLiveRecentCalls);
        v.latency = latency_.summaries(now);
        v.latency_window_s = latency_.limits().window.count();
        return v;
    }
    static constexpr std::size_t kLiveRecentCalls = 50;  // the page lists no more

    void on_ari_event(const ari::Event& e) {
        if (notifies_.from_ari(e)) return;
        for (const auto& fe : translate(e)) dispatch(fe);
    }

    bool start_hep(std::string& error) {
        std::weak_ptr<Impl> weak = shared_from_this();
        intake::HepListenerSettings hs;
        hs.listen_host = config_.hep_listen.host;
        hs.listen_port = config_.hep_listen.port;
        hs.intake.capture_password = config_.hep_password;
        hs.intake.deduplicate = false;  // the NotifyGate de-duplicates every source at once
        hs.on_handler_error = metrics_.handler_error_counter("hep");
        // Runs on the io thread, where the listener reads; metrics are thread-safe anyway.
        hs.on_reject = [&metrics = metrics_](intake::HepReject reason) {
            metrics.notify_rejected.labels({intake::to_string(reason)}).inc();
        };
        for (const auto& f : config_.hep_forward) {
            boost::system::error_code ec;
            const auto address = boost::asio::ip::make_address(f.host, ec);
            if (ec) {
                error = "HEP_FORWARD " + f.host + ": " + ec.message();
                return false;
            }
            hs.forward.targets.emplace_back(address, f.port);
        }
        // Children resolved once: each datagram costs a counter increment per target, no lookup.
        std::vector<std::array<metrics::Counter*, 3>> forwarded;
        std::string targets;
        for (const auto& ep : hs.forward.targets) {
            std::ostringstream target;
            target << ep;
            targets += (targets.empty() ? "" : ",") + target.str();
            auto& f = forwarded.emplace_back();
            for (auto o : {intake::ForwardOutcome::sent, intake::ForwardOutcome::dropped,
                           intake::ForwardOutcome::error})
                f[static_cast<std::size_t>(o)] =
                    &metrics_.hep_forwarded.labels({target.str(), intake::to_string(o)});
        }
        hs.forward.on_outcome = [forwarded](std::size_t i, intake::ForwardOutcome o) {
            if (i < forwarded.size()) forwarded[i][static_cast<std::size_t>(o)]->inc();
        };
        std::string ip_error;
        if (!intake::parse_ip_list(config_.genesys_sip_hosts, hs.intake.genesys_hosts, ip_error)) {
            error = "GENESYS_SIP_HOST: " + ip_error;
            return false;
        }
        hep_ = std::make_unique<intake::HepListener>(io_, hs, [weak](intake::NotifyEvent n) {
            if (auto s = weak.lock()) s->notifies_.admit(std::move(n));
        });
        if (auto ec = hep_->start()) {
            error = "HEP_LISTEN " + config_.hep_listen.host + ":" +
                    std::to_string(config_.hep_listen.port) + ": " + ec.message();
            return false;
        }
        supervisor_->hep_listening();
        spdlog::info("HEP listener on {}:{} (Genesys hosts: {}){}{}", config_.hep_listen.host,
                     hep_->local_endpoint().port(), join(config_.genesys_sip_hosts),
                     targets.empty() ? "" : ", passing every datagram on to ", targets);
        return true;
    }

    boost::asio::io_context& io_;
    const Config& config_;
    metrics::TalkgateMetrics& metrics_;
    // Catches what a handler on the io thread did not expect: logged, counted, not fatal.
    std::shared_ptr<ari::HandlerGuard> guard_ = std::make_shared<ari::HandlerGuard>(
        "controller", [this] { metrics_.handler_errors.labels({"controller"}).inc(); });
    flow::CallFlow flow_;
    std::shared_ptr<ari::RestClient> ari_;
    std::shared_ptr<ami::Client> ami_;
    std::shared_ptr<ari::EventStream> events_;
    std::unique_ptr<intake::HepListener> hep_;
    NotifyGate notifies_;
    std::shared_ptr<CommandExecutor> executor_;
    std::shared_ptr<ConnectionSupervisor> supervisor_;
    std::shared_ptr<LiveFeed> live_;          // the web page's updates
    AnswerLatencyByDn latency_;               // NOTIFY talk -> answered per DN, for the web page
    std::uint64_t live_seq_ = 0;              // numbers the page's views
    std::atomic<bool> stopping_{false};       // stop() was called
    std::atomic<std::size_t> live_calls_{0};  // for the stop log line, from any thread
};

Controller::Controller(boost::asio::io_context& io, const Config& config,
                       metrics::TalkgateMetrics& metrics)
    : impl_(std::make_shared<Impl>(io, config, metrics)) {
    impl_->wire();
}

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

void Controller::trace(const std::string& id,
                       std::function<void(std::optional<status::TraceView>)> done) {
    impl_->trace(id, std::move(done));
}

void Controller::live(std::function<void(status::LiveView)> done) {
    impl_->live(std::move(done));
}

void Controller::watch(std::weak_ptr<status::LiveWatcher> watcher) {
    impl_->watch(std::move(watcher));
}

void Controller::recent_calls(std::function<void(std::vector<status::RecentCallView>)> done) {
    impl_->recent_calls(std::move(done));
}

unsigned short Controller::hep_port() const {
    return impl_->hep_port();
}

}  // namespace talkgate::controller
