#include "metrics/talkgate_metrics.hpp"
#include "metrics_exposition_parser.hpp"

#include <gtest/gtest.h>

using talkgate::test::parse_prometheus_text;

namespace {

// The parser must reject each of these, or a test that relies on it could not fail.
void expect_rejected(const std::string& text, const std::string& why_contains) {
    auto r = parse_prometheus_text(text);
    EXPECT_FALSE(r.ok()) << "accepted:\n" << text;
    EXPECT_NE(r.error.find(why_contains), std::string::npos) << r.error << "\nfor:\n" << text;
}

}  // namespace

TEST(Exposition, TalkgateMetricsParseAfterActivity) {
    talkgate::metrics::TalkgateMetrics m;
    m.notify("talk", "hep");
    m.notify("hold", "ami");
    m.notify_duplicates.labels({"hep"}).inc(4);
    m.notify_rejected.labels({"source \"not\" Genesys\\x\n"}).inc();
    m.answer_action(talkgate::metrics::AnswerPath::pjsip_notify,
                    talkgate::metrics::ActionOutcome::ok);
    m.bridge_api_request_seconds.labels({"genesys-call-notify"}).observe(0.12);
    m.observe_notify_to_answer_command(0.0007);
    m.observe_notify_to_genesys_answered(0.35);
    m.observe_notify_to_genesys_answered(45);
    m.set_active_calls(2);
    m.calls.labels({"answered"}).inc();
    m.resync_repairs.labels({"closed"}).inc();
    m.events_dropped.labels({"ari"}).inc();
    m.bridge_api_refused.labels({"contact_not_allowed"}).inc();
    m.handler_errors.labels({"controller"}).inc();

    auto r = parse_prometheus_text(m.registry.render());
    ASSERT_TRUE(r.ok()) << r.error << " at line " << r.error_line;
    EXPECT_EQ(r.families.size(), 19u);
    EXPECT_EQ(
        r.value("talkgate_notify_rejected_total", {{"reason", "source \"not\" Genesys\\x\n"}}),
        1.0);
    EXPECT_EQ(r.value("talkgate_notify_duplicates_total", {{"source", "hep"}}), 4.0);
    EXPECT_EQ(r.value("talkgate_notify_to_genesys_answered_seconds_bucket", {{"le", "30"}}), 1.0);
    EXPECT_EQ(r.value("talkgate_notify_to_genesys_answered_seconds_bucket", {{"le", "+Inf"}}), 2.0);
    EXPECT_DOUBLE_EQ(*r.value("talkgate_notify_to_genesys_answered_seconds_sum"), 45.35);
    EXPECT_EQ(r.family("talkgate_active_calls")->type, "gauge");
    EXPECT_EQ(r.family("talkgate_bridge_api_request_seconds")->type, "histogram");
    EXPECT_EQ(r.family("talkgate_calls_total")->help, "Calls ended, by outcome");
}

TEST(Exposition, ParserAcceptsTheFormatsCorners) {
    auto r = parse_prometheus_text(
        "# A plain comment\n"
        "# HELP x_total Help with \\\\ and \\n escapes\n"
        "# TYPE x_total counter\n"
        "x_total{a=\"1\",b=\"\\\"q\\\"\",} 3 1700000000000\n"
        "x_total 4e2\n"
        "\n"
        "# TYPE g gauge\n"
        "g -Inf\n"
        "untyped_thing NaN\n");
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.family("x_total")->help, "Help with \\ and \n escapes");
    EXPECT_EQ(r.value("x_total", {{"a", "1"}, {"b", "\"q\""}}), 3.0);
    EXPECT_EQ(*r.family("x_total")->samples[0].timestamp_ms, 1700000000000);
    EXPECT_EQ(r.value("x_total"), 400.0);
    EXPECT_EQ(r.family("untyped_thing")->type, "untyped");
}

TEST(Exposition, ParserRejectsWhatPrometheusRejects) {
    expect_rejected("x 1", "newline");
    expect_rejected("x{a=\"1} 1\n", "unterminated");
    expect_rejected("x{a=\"\\t\"} 1\n", "unknown escape");
    expect_rejected("x{a=1} 1\n", "expected '\"'");
    expect_rejected("x{a=\"1\" b=\"2\"} 1\n", "expected ','");
    expect_rejected("x{a=\"1\",a=\"2\"} 1\n", "repeated");
    expect_rejected("x one\n", "bad value");
    expect_rejected("x 1 2 3\n", "trailing text");
    expect_rejected("x 1 soon\n", "bad timestamp");
    expect_rejected("x inf\n", "bad value");
    expect_rejected("1x 1\n", "metric name");
    expect_rejected("# TYPE x summer\n", "unknown type");
    expect_rejected("# TYPE x counter\n# TYPE x counter\n", "second TYPE");
    expect_rejected("x 1\n# TYPE x counter\n", "after");
    expect_rejected("# TYPE x counter\nx -1\n", "negative");
    expect_rejected("x 1\ny 1\nx{a=\"b\"} 2\n", "grouped");
    expect_rejected("x 1\nx 2\n", "repeated with the same labels");
    expect_rejected("x{le=\"1\"} 1\n", "le outside");
    expect_rejected("x 1\r\n", "carriage return");
}

TEST(Exposition, ParserChecksHistogramConsistency) {
    const std::string head = "# TYPE h histogram\n";
    expect_rejected(head + "h_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n", "+Inf");
    expect_rejected(head + "h_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
                    "cumulative");
    expect_rejected(head +
                        "h_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\n"
                        "h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
                    "ascending");
    expect_rejected(head + "h_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n", "_count");
    expect_rejected(head + "h_bucket{le=\"+Inf\"} 2\nh_count 2\n", "_sum");
    expect_rejected(head + "h_bucket 2\nh_sum 1\nh_count 2\n", "without le");
    expect_rejected(head + "h_bucket{le=\"x\"} 2\nh_sum 1\nh_count 2\n", "bad le");
    auto ok = parse_prometheus_text(head +
                                    "h_bucket{le=\"0.5\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
                                    "h_sum 1.5\nh_count 2\n");
    EXPECT_TRUE(ok.ok()) << ok.error;
}
