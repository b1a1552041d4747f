#include "controller/connection_supervisor.hpp"

#include "ami/client.hpp"
#include "metrics/talkgate_metrics.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace talkgate::controller {

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

flow::Resync resync_from(const std::vector<std::string>& in_app,
                         const std::vector<ari::Channel>& channels,
                         const std::vector<ari::Bridge>& bridges,
                         std::chrono::system_clock::time_point wall_now) {
    flow::Resync r;
    for (const auto& c : channels) {
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
            snap.age = std::chrono::duration_cast<std::chrono::milliseconds>(wall_now - *created);
        r.channels.push_back(std::move(snap));
    }
    for (const auto& b : bridges)
        r.bridges.push_back(flow::BridgeSnapshot{b.id, b.name, b.channels});
    return r;
}

ConnectionSupervisor::ConnectionSupervisor(boost::asio::io_context& io, const Config& config,
                                           metrics::TalkgateMetrics& metrics,
                                           std::shared_ptr<ari::RestClient> ari, Hooks hooks)
    : io_(io), config_(config), metrics_(metrics), ari_(std::move(ari)), hooks_(std::move(hooks)) {}

status::Readiness ConnectionSupervisor::readiness() const {
    status::Readiness r{};
    r.ari_required = true;
    r.ari_up = ari_up_;
    r.ami_required = true;
    r.ami_up = ami_up_;
    r.hep_required = config_.notify_sources.hep;
    r.hep_up = hep_up_;
    return r;
}

void ConnectionSupervisor::hep_listening() {
    hep_up_ = true;
    metrics_.set_connection(metrics::Peer::hep, true);
}

void ConnectionSupervisor::on_ari_state(const ari::ConnectionState& st) {
    switch (st.kind) {
        case ari::ConnectionState::Kind::connected:
        case ari::ConnectionState::Kind::reconnected:
            spdlog::info("ARI events connected ({}): resyncing calls", to_string(st.kind));
            if (st.kind == ari::ConnectionState::Kind::reconnected)
                metrics_.reconnected(metrics::Peer::ari);
            ari_up_ = true;
            metrics_.set_connection(metrics::Peer::ari, true);
            set_event_filter();
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

void ConnectionSupervisor::on_ami_state(const ami::ConnectionState& st) {
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
    if (hooks_.ami_up) hooks_.ami_up(ami_up_);
}

// Asterisk sends every event of the app's channels (with ari.conf's channelvars, about half of
// them ChannelVarset); only the ones the flow reads need to cross the socket and be parsed.
void ConnectionSupervisor::set_event_filter() {
    nlohmann::json allowed = nlohmann::json::array();
    for (const char* type :
         {"StasisStart", "StasisEnd", "ChannelStateChange", "Dial", "ChannelHangupRequest",
          "ChannelDestroyed", "ChannelUserevent", "ApplicationReplaced"})
        allowed.push_back({{"type", type}});
    ari_->application_set_event_filter(
        config_.ari_app, {{"allowed", allowed}}, [](ari::Result<ari::Application> r) {
            if (!r)
                spdlog::warn("ARI: event filter not set ({}); every event comes unfiltered",
                             r.error().describe());
        });
}

void ConnectionSupervisor::resync() {
    std::weak_ptr<ConnectionSupervisor> weak = shared_from_this();
    // Calls that enter while the lists travel are not in them: the flow leaves those be.
    const auto requested_at = flow::Clock::now();
    ari_->application_get(config_.ari_app, [weak, requested_at](ari::Result<ari::Application> app) {
        auto s = weak.lock();
        if (!s) return;
        if (!app) {
            spdlog::warn("resync: GET /applications failed: {}", app.error().describe());
            return;
        }
        s->ari_->channels_list([weak, in_app = app.value().channel_ids,
                                requested_at](ari::Result<std::vector<ari::Channel>> chans) {
            auto s2 = weak.lock();
            if (!s2) return;
            if (!chans) {
                spdlog::warn("resync: GET /channels failed: {}", chans.error().describe());
                return;
            }
            s2->ari_->bridges_list([weak, in_app, chans = std::move(chans.value()),
                                    requested_at](ari::Result<std::vector<ari::Bridge>> bridges) {
                auto s3 = weak.lock();
                if (!s3) return;
                if (!bridges) {
                    spdlog::warn("resync: GET /bridges failed: {}", bridges.error().describe());
                    return;
                }
                flow::Resync r =
                    resync_from(in_app, chans, bridges.value(), std::chrono::system_clock::now());
                r.requested_at = requested_at;
                spdlog::info(
                    "resync: Asterisk has {} channels ({} in app) and {} bridges; talkgate "
                    "tracks {} calls",
                    r.channels.size(), in_app.size(), r.bridges.size(),
                    s3->hooks_.tracked_calls ? s3->hooks_.tracked_calls() : 0);
                s3->hooks_.resync(std::move(r));
            });
        });
    });
}

void ConnectionSupervisor::watch_drops(std::shared_ptr<ari::EventStream> events,
                                       std::shared_ptr<ami::Client> ami) {
    events_ = std::move(events);
    ami_ = std::move(ami);
    count_dropped_events();
}

void ConnectionSupervisor::stop() {
    stopping_ = true;  // the next poll ends it: stop() may run on another thread than the timer
}

// The ARI and AMI clients count what they drop (queue full, malformed, oversized); their
// counters move talkgate_events_dropped_total{source} once a second.
void ConnectionSupervisor::count_dropped_events() {
    auto count = [this](const char* source, std::uint64_t total) {
        if (auto added = metrics_.events_dropped_since_start(source, total))
            spdlog::warn("{} {} event(s) dropped unread ({} since start)", added, source, total);
    };
    if (events_) {
        const auto st = events_->stats();
        count("ari", st.dropped + st.malformed + st.oversized);
    }
    if (ami_) count("ami", ami_->stats().malformed_frames);
    if (stopping_) return;
    drop_poll_.expires_after(std::chrono::seconds(1));
    std::weak_ptr<ConnectionSupervisor> weak = shared_from_this();
    drop_poll_.async_wait([weak](const boost::system::error_code& ec) {
        if (auto s = weak.lock(); s && !ec) s->count_dropped_events();
    });
}

}  // namespace talkgate::controller
