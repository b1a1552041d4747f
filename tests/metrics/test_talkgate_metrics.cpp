#include "metrics/talkgate_metrics.hpp"
#include "metrics_exposition_parser.hpp"

#include <gtest/gtest.h>

#include <set>

using talkgate::metrics::ActionOutcome;
using talkgate::metrics::AnswerPath;
using talkgate::metrics::Peer;
using talkgate::metrics::TalkgateMetrics;
using talkgate::test::parse_prometheus_text;

TEST(TalkgateMetrics, RegistersEveryFamilyTheControllerUses) {
    TalkgateMetrics m;
    const std::map<std::string, std::string> expected = {
        {"talkgate_notify_received_total", "counter"},
        {"talkgate_notify_duplicates_total", "counter"},
        {"talkgate_notify_unmatched_total", "counter"},
        {"talkgate_notify_rejected_total", "counter"},
        {"talkgate_answer_actions_total", "counter"},
        {"talkgate_bridge_api_request_seconds", "histogram"},
        {"talkgate_notify_to_answer_command_seconds", "histogram"},
        {"talkgate_notify_to_genesys_answered_seconds", "histogram"},
        {"talkgate_active_calls", "gauge"},
        {"talkgate_calls_total", "counter"},
        {"talkgate_connection_up", "gauge"},
        {"talkgate_reconnects_total", "counter"},
        {"talkgate_events_dropped_total", "counter"},
        {"talkgate_resync_repairs_total", "counter"},
        {"talkgate_bridge_api_refused_total", "counter"},
        {"talkgate_hep_forwarded_total", "counter"},
        {"talkgate_handler_errors_total", "counter"},
        {"talkgate_lease_active", "gauge"},
        {"talkgate_redis_errors_total", "counter"},
    };
    auto parsed = parse_prometheus_text(m.registry.render());
    ASSERT_TRUE(parsed.ok()) << parsed.error;
    std::map<std::string, std::string> got;
    for (const auto& f : parsed.families) got[f.name] = f.type;
    EXPECT_EQ(got, expected);
}

TEST(TalkgateMetrics, MethodsMoveTheRightSeries) {
    TalkgateMetrics m;
    m.notify("talk", "hep");
    m.notify("TALK", "hep");
    m.notify("presence", "ami");
    m.answer_action(AnswerPath::bridge_answer, ActionOutcome::timeout);
    m.set_connection(Peer::ami, true);
    m.reconnected(Peer::ari);
    m.set_active_calls(3);
    m.observe_notify_to_answer_command(0.002);
    m.observe_notify_to_genesys_answered(0.4);
    m.bridge_api_request_seconds.labels({"answer"}).observe(0.03);
    m.notify_unmatched.labels({"talk"}).inc();

    auto p = parse_prometheus_text(m.registry.render());
    ASSERT_TRUE(p.ok()) << p.error;
    EXPECT_EQ(p.value("talkgate_notify_received_total", {{"event", "talk"}, {"source", "hep"}}),
              2.0);
    EXPECT_EQ(p.value("talkgate_notify_received_total", {{"event", "other"}, {"source", "ami"}}),
              1.0);
    EXPECT_EQ(p.value("talkgate_notify_received_total", {{"event", "hold"}, {"source", "ari"}}),
              0.0);
    EXPECT_EQ(p.value("talkgate_answer_actions_total",
                      {{"path", "bridge_answer"}, {"outcome", "timeout"}}),
              1.0);
    EXPECT_EQ(
        p.value("talkgate_answer_actions_total", {{"path", "pjsip_notify"}, {"outcome", "ok"}}),
        0.0);
    EXPECT_EQ(p.value("talkgate_connection_up", {{"peer", "ami"}}), 1.0);
    EXPECT_EQ(p.value("talkgate_reconnects_total", {{"peer", "ari"}}), 1.0);
    EXPECT_EQ(p.value("talkgate_active_calls"), 3.0);
    EXPECT_EQ(p.value("talkgate_notify_to_answer_command_seconds_bucket", {{"le", "0.0025"}}), 1.0);
    EXPECT_EQ(p.value("talkgate_notify_to_answer_command_seconds_bucket", {{"le", "0.001"}}), 0.0);
    EXPECT_EQ(p.value("talkgate_notify_to_genesys_answered_seconds_count"), 1.0);
    EXPECT_EQ(p.value("talkgate_bridge_api_request_seconds_count", {{"endpoint", "answer"}}), 1.0);
    EXPECT_EQ(p.value("talkgate_notify_unmatched_total", {{"event", "talk"}}), 1.0);
}

TEST(TalkgateMetrics, FoldsUnknownEventsSoLabelsStayBounded) {
    EXPECT_EQ(TalkgateMetrics::fold_event("talk"), "talk");
    EXPECT_EQ(TalkgateMetrics::fold_event("Hold"), "hold");
    EXPECT_EQ(TalkgateMetrics::fold_event("refer"), "other");
    EXPECT_EQ(TalkgateMetrics::fold_event(""), "other");
}

TEST(TalkgateMetrics, HepConnectionIsReportedOnlyOnceHepIsStarted) {
    TalkgateMetrics m;
    m.set_connection(Peer::ari, false);
    auto before = parse_prometheus_text(m.registry.render());
    ASSERT_TRUE(before.ok()) << before.error;
    // An unconfigured HEP must not look like a peer that is down (the PeerDown alert).
    EXPECT_FALSE(before.value("talkgate_connection_up", {{"peer", "hep"}}));
    EXPECT_EQ(before.value("talkgate_connection_up", {{"peer", "ari"}}), 0.0);
    EXPECT_EQ(before.value("talkgate_connection_up", {{"peer", "ami"}}), 0.0);
    m.set_connection(Peer::hep, true);
    auto after = parse_prometheus_text(m.registry.render());
    ASSERT_TRUE(after.ok()) << after.error;
    EXPECT_EQ(after.value("talkgate_connection_up", {{"peer", "hep"}}), 1.0);
}

TEST(TalkgateMetrics, EventsDroppedMovesByWhatEachClientDroppedSinceTheLastLook) {
    TalkgateMetrics m;
    EXPECT_EQ(m.events_dropped_since_start("ari", 0), 0u);
    EXPECT_EQ(m.events_dropped_since_start("ari", 5), 5u);
    EXPECT_EQ(m.events_dropped_since_start("ari", 5), 0u);
    EXPECT_EQ(m.events_dropped_since_start("ari", 7), 2u);
    EXPECT_EQ(m.events_dropped_since_start("ami", 1), 1u);
    auto p = parse_prometheus_text(m.registry.render());
    ASSERT_TRUE(p.ok()) << p.error;
    EXPECT_EQ(p.value("talkgate_events_dropped_total", {{"source", "ari"}}), 7.0);
    EXPECT_EQ(p.value("talkgate_events_dropped_total", {{"source", "ami"}}), 1.0);
}

TEST(TalkgateMetrics, HandlerErrorCounterMovesItsComponentOnly) {
    TalkgateMetrics m;
    auto ami = m.handler_error_counter("ami");
    auto hep = m.handler_error_counter("hep");
    ami();
    ami();
    hep();
    auto p = parse_prometheus_text(m.registry.render());
    ASSERT_TRUE(p.ok()) << p.error;
    EXPECT_EQ(p.value("talkgate_handler_errors_total", {{"component", "ami"}}), 2.0);
    EXPECT_EQ(p.value("talkgate_handler_errors_total", {{"component", "hep"}}), 1.0);
}
