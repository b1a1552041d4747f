#include "metrics/registry.hpp"
#include "metrics_exposition_parser.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <thread>

using talkgate::metrics::Registry;
using talkgate::test::parse_prometheus_text;

TEST(Registry, RendersHelpTypeAndValues) {
    Registry r;
    auto& c = r.counter("demo_requests_total", "Requests\nserved \\ so far", {"code"});
    c.labels({"200"}).inc(3);
    c.labels({"500"}).inc();
    r.gauge("demo_temperature", "A gauge").labels({}).set(-1.5);
    std::string text = r.render();
    EXPECT_NE(text.find("# HELP demo_requests_total Requests\\nserved \\\\ so far\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("# TYPE demo_requests_total counter\n"), std::string::npos);
    EXPECT_NE(text.find("demo_requests_total{code=\"200\"} 3\n"), std::string::npos);
    EXPECT_NE(text.find("demo_requests_total{code=\"500\"} 1\n"), std::string::npos);
    EXPECT_NE(text.find("# TYPE demo_temperature gauge\ndemo_temperature -1.5\n"),
              std::string::npos);

    auto parsed = parse_prometheus_text(text);
    ASSERT_TRUE(parsed.ok()) << parsed.error << " (line " << parsed.error_line << ")\n" << text;
    ASSERT_NE(parsed.family("demo_requests_total"), nullptr);
    EXPECT_EQ(parsed.family("demo_requests_total")->help, "Requests\nserved \\ so far");
}

TEST(Registry, EscapesLabelValuesSoTheyReadBackExactly) {
    Registry r;
    const std::string nasty = "a\\b\"c\nd}e,f=g";
    r.counter("demo_total", "x", {"v"}).labels({nasty}).inc();
    std::string text = r.render();
    EXPECT_NE(text.find(R"(demo_total{v="a\\b\"c\nd}e,f=g"} 1)"), std::string::npos) << text;
    auto parsed = parse_prometheus_text(text);
    ASSERT_TRUE(parsed.ok()) << parsed.error;
    EXPECT_EQ(parsed.value("demo_total", {{"v", nasty}}), 1.0);
}

TEST(Registry, UnlabelledFamiliesRenderZeroBeforeFirstUse) {
    Registry r;
    r.counter("demo_events_total", "x");
    r.gauge("demo_level", "x");
    r.histogram("demo_seconds", "x", {}, {0.1, 1});
    r.counter("demo_labelled_total", "x", {"a"});
    auto parsed = parse_prometheus_text(r.render());
    ASSERT_TRUE(parsed.ok()) << parsed.error;
    EXPECT_EQ(parsed.value("demo_events_total"), 0.0);
    EXPECT_EQ(parsed.value("demo_level"), 0.0);
    EXPECT_EQ(parsed.value("demo_seconds_count"), 0.0);
    EXPECT_EQ(parsed.value("demo_seconds_bucket", {{"le", "+Inf"}}), 0.0);
    ASSERT_NE(parsed.family("demo_labelled_total"), nullptr);
    EXPECT_TRUE(parsed.family("demo_labelled_total")->samples.empty());
}

TEST(Registry, HistogramBucketsAreCumulativeWithInclusiveBounds) {
    Registry r;
    auto& h = r.histogram("demo_latency_seconds", "x", {"endpoint"}, {0.5, 0.1, 1, 0.1})
                  .labels({"answer"});
    for (double v : {0.05, 0.1, 0.3, 0.7, 1.0, 4.0}) h.observe(v);
    auto parsed = parse_prometheus_text(r.render());
    ASSERT_TRUE(parsed.ok()) << parsed.error;
    auto bucket = [&](const char* le) {
        return parsed.value("demo_latency_seconds_bucket", {{"endpoint", "answer"}, {"le", le}});
    };
    EXPECT_EQ(bucket("0.1"), 2.0);  // 0.05 and 0.1 (le is inclusive)
    EXPECT_EQ(bucket("0.5"), 3.0);
    EXPECT_EQ(bucket("1"), 5.0);
    EXPECT_EQ(bucket("+Inf"), 6.0);
    EXPECT_EQ(parsed.value("demo_latency_seconds_count", {{"endpoint", "answer"}}), 6.0);
    EXPECT_DOUBLE_EQ(*parsed.value("demo_latency_seconds_sum", {{"endpoint", "answer"}}), 6.15);
    EXPECT_EQ(parsed.family("demo_latency_seconds")->samples.size(), 4u + 2u);
}

TEST(Registry, SameLabelsGiveTheSameChild) {
    Registry r;
    auto& f = r.counter("demo_total", "x", {"a", "b"});
    EXPECT_EQ(&f.labels({"1", "2"}), &f.labels({"1", "2"}));
    EXPECT_NE(&f.labels({"1", "2"}), &f.labels({"2", "1"}));
    // A wrong arity is folded onto the family's label names instead of crashing.
    EXPECT_EQ(&f.labels({"1"}), &f.labels({"1", ""}));
    EXPECT_EQ(&f.labels({"1", "2", "3"}), &f.labels({"1", "2"}));
}

TEST(Registry, RegistrationChecksNamesAndKinds) {
    Registry r;
    auto& a = r.counter("demo_total", "x");
    EXPECT_EQ(&a, &r.counter("demo_total", "other help"));
    EXPECT_THROW(r.gauge("demo_total", "x"), std::invalid_argument);
    EXPECT_THROW(r.counter("1bad", "x"), std::invalid_argument);
    EXPECT_THROW(r.counter("bad-name", "x"), std::invalid_argument);
    EXPECT_THROW(r.counter("demo_ok_total", "x", {"le"}), std::invalid_argument);
    EXPECT_THROW(r.counter("demo_ok2_total", "x", {"__reserved"}), std::invalid_argument);
    EXPECT_EQ(r.family_names(), std::vector<std::string>{"demo_total"});
}

TEST(Registry, FormatsValuesAsPrometheusReadsThem) {
    using talkgate::metrics::format_value;
    EXPECT_EQ(format_value(0), "0");
    EXPECT_EQ(format_value(3), "3");
    EXPECT_EQ(format_value(0.1), "0.1");
    EXPECT_EQ(format_value(0.0025), "0.0025");
    EXPECT_EQ(format_value(HUGE_VAL), "+Inf");
    EXPECT_EQ(format_value(-HUGE_VAL), "-Inf");
    EXPECT_EQ(format_value(std::nan("")), "NaN");
    double third = 1.0 / 3.0;
    EXPECT_EQ(std::stod(format_value(third)), third);
}

TEST(Registry, ConcurrentUpdatesAreNotLostAndScrapesStayValid) {
    Registry r;
    auto& counters = r.counter("demo_total", "x", {"worker"});
    auto& gauge = r.gauge("demo_gauge", "x").labels({});
    auto& hist = r.histogram("demo_seconds", "x", {}, {0.5}).labels({});
    constexpr int threads = 4;
    constexpr int per_thread = 50000;
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            // Half the updates look the child up each time, half keep the handle.
            auto& mine = counters.labels({std::to_string(t % 2)});
            for (int i = 0; i < per_thread; ++i) {
                if (i % 2) {
                    mine.inc();
                } else {
                    counters.labels({std::to_string(t % 2)}).inc();
                }
                gauge.inc();
                hist.observe(i % 2 ? 0.25 : 1.0);
            }
        });
    }
    // Scrapes while the workers run must each parse, histograms consistent.
    int scrapes = 0;
    for (; scrapes < 50; ++scrapes) {
        auto parsed = parse_prometheus_text(r.render());
        ASSERT_TRUE(parsed.ok()) << parsed.error;
    }
    for (auto& w : workers) w.join();
    auto parsed = parse_prometheus_text(r.render());
    ASSERT_TRUE(parsed.ok()) << parsed.error;
    EXPECT_EQ(parsed.value("demo_total", {{"worker", "0"}}), 2.0 * per_thread);
    EXPECT_EQ(parsed.value("demo_total", {{"worker", "1"}}), 2.0 * per_thread);
    EXPECT_EQ(parsed.value("demo_gauge"), double(threads) * per_thread);
    EXPECT_EQ(parsed.value("demo_seconds_count"), double(threads) * per_thread);
    EXPECT_EQ(parsed.value("demo_seconds_bucket", {{"le", "0.5"}}),
              double(threads) * per_thread / 2);
    EXPECT_DOUBLE_EQ(*parsed.value("demo_seconds_sum"), threads * per_thread / 2 * 1.25);
}
