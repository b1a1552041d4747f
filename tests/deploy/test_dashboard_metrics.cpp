#include "lab_env.hpp"
#include "metrics/talkgate_metrics.hpp"
#include "metrics_exposition_parser.hpp"
#include "promql_names.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <set>
#include <sstream>

using talkgate::test::promql_metric_names;

namespace {

std::string read(const std::string& relative) {
    std::ifstream in(talkgate::test::source_dir() + "/" + relative);
    if (!in) throw std::runtime_error("cannot read " + relative);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Every `expr` anywhere in the dashboard JSON (panels, rows, nested targets).
void collect_exprs(const nlohmann::json& j, std::vector<std::string>& out) {
    if (j.is_object()) {
        for (auto it = j.begin(); it != j.end(); ++it) {
            if (it.key() == "expr" && it->is_string()) {
                out.push_back(it->get<std::string>());
            } else {
                collect_exprs(*it, out);
            }
        }
    } else if (j.is_array()) {
        for (const auto& e : j) collect_exprs(e, out);
    }
}

// `expr:` values of a Prometheus rules file. Block scalars (| or >) would hide an expression
// from this reader, so they are refused rather than skipped.
std::vector<std::string> rule_exprs(const std::string& yaml) {
    std::vector<std::string> out;
    std::istringstream in(yaml);
    std::string line;
    while (std::getline(in, line)) {
        auto pos = line.find("expr:");
        if (pos == std::string::npos || line.find_first_not_of(' ') != pos) continue;
        std::string v = line.substr(pos + 5);
        v.erase(0, v.find_first_not_of(' '));
        if (v.empty() || v[0] == '|' || v[0] == '>') {
            throw std::runtime_error("multi-line expr in rules: write it on one line");
        }
        if (v.size() >= 2 && (v[0] == '"' || v[0] == '\'') && v.back() == v[0]) {
            v = v.substr(1, v.size() - 2);
        }
        out.push_back(v);
    }
    return out;
}

// What talkgate's /metrics exposes: family names, and the sample names a query can use.
std::set<std::string> exposed_names() {
    talkgate::metrics::TalkgateMetrics m;
    auto parsed = talkgate::test::parse_prometheus_text(m.registry.render());
    if (!parsed.ok()) throw std::runtime_error("registry renders invalid text: " + parsed.error);
    std::set<std::string> names;
    for (const auto& f : parsed.families) {
        if (f.type == "histogram") {
            // _bucket/_sum/_count are the queryable series; the bare name is not.
            for (const char* suffix : {"_bucket", "_sum", "_count"}) names.insert(f.name + suffix);
        } else {
            names.insert(f.name);
        }
    }
    return names;
}

// Series Prometheus itself makes for every scrape.
const std::set<std::string> prometheus_builtins = {"up", "scrape_duration_seconds",
                                                   "scrape_samples_scraped"};

std::vector<std::string> unknown_names(const std::vector<std::string>& exprs,
                                       std::set<std::string>& used) {
    auto exposed = exposed_names();
    std::vector<std::string> unknown;
    for (const auto& e : exprs) {
        for (const auto& name : promql_metric_names(e)) {
            used.insert(name);
            if (!exposed.count(name) && !prometheus_builtins.count(name)) {
                unknown.push_back(name + " (in: " + e + ")");
            }
        }
    }
    return unknown;
}

}  // namespace

TEST(PromqlNames, FindsMetricsAndSkipsFunctionsLabelsAndDurations) {
    EXPECT_EQ(promql_metric_names("histogram_quantile(0.95, sum by (le, endpoint) "
                                  "(rate(talkgate_bridge_api_request_seconds_bucket"
                                  "{endpoint=~\"answer|notify\"}[$__rate_interval])))"),
              (std::set<std::string>{"talkgate_bridge_api_request_seconds_bucket"}));
    EXPECT_EQ(promql_metric_names("sum(rate(a_total[5m])) by (event) / ignoring(x) "
                                  "group_left(y) b_total offset 1h > bool 0.1e1"),
              (std::set<std::string>{"a_total", "b_total"}));
    EXPECT_EQ(promql_metric_names("up{job=\"talkgate\", le=\"0.5\"} == 0"),
              (std::set<std::string>{"up"}));
    EXPECT_EQ(promql_metric_names("x:recorded:rate5m unless on(peer) c"),
              (std::set<std::string>{"x:recorded:rate5m", "c"}));
    EXPECT_THROW(promql_metric_names("rate(x[5m]"), std::invalid_argument);
    EXPECT_THROW(promql_metric_names("x{a=\"b}"), std::invalid_argument);
}

TEST(DashboardMetrics, UnknownMetricsAreCaught) {
    std::set<std::string> used;
    auto unknown =
        unknown_names({"rate(talkgate_notify_received_total[5m])", "talkgate_active_call",
                       "rate(talkgate_notify_to_answer_command_seconds[5m])"},
                      used);
    // A typo, and a histogram queried without its _bucket/_sum/_count suffix.
    ASSERT_EQ(unknown.size(), 2u);
    EXPECT_EQ(unknown[0].rfind("talkgate_active_call ", 0), 0u);
    EXPECT_EQ(unknown[1].rfind("talkgate_notify_to_answer_command_seconds ", 0), 0u);
}

TEST(DashboardMetrics, GrafanaDashboardQueriesOnlyMetricsTalkgateExposes) {
    auto dashboard = nlohmann::json::parse(read("deploy/grafana/dashboards/talkgate.json"));
    std::vector<std::string> exprs;
    collect_exprs(dashboard, exprs);
    ASSERT_GE(exprs.size(), 10u);
    std::set<std::string> used;
    auto unknown = unknown_names(exprs, used);
    EXPECT_TRUE(unknown.empty()) << ::testing::PrintToString(unknown);
    // What the issue asks the dashboard to show.
    for (const char* needed :
         {"talkgate_notify_to_answer_command_seconds_bucket",
          "talkgate_notify_to_genesys_answered_seconds_bucket", "talkgate_notify_received_total",
          "talkgate_active_calls", "talkgate_connection_up"}) {
        EXPECT_TRUE(used.count(needed)) << needed << " is on no panel";
    }
    // Every panel's datasource is the provisioned one.
    for (const auto& p : dashboard["panels"]) {
        EXPECT_EQ(p["datasource"]["uid"], "prometheus") << p["title"];
    }
}

TEST(DashboardMetrics, AlertRulesQueryOnlyMetricsTalkgateExposes) {
    auto exprs = rule_exprs(read("deploy/prometheus/rules/talkgate.yml"));
    ASSERT_GE(exprs.size(), 5u);
    std::set<std::string> used;
    auto unknown = unknown_names(exprs, used);
    EXPECT_TRUE(unknown.empty()) << ::testing::PrintToString(unknown);
    EXPECT_TRUE(used.count("talkgate_connection_up"));
}
