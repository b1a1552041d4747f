// Every metric the README names is moved by talkgate's own code and by some test: a metric
// registered but incremented nowhere (a dead dashboard panel, an alert that never fires, a
// troubleshooting step that leads nowhere) fails here.
#include "lab_env.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace talkgate::test {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

// The README's "Metrics:" paragraph, up to the next blank line.
std::set<std::string> readme_metrics() {
    const std::string text = slurp(fs::path(source_dir()) / "README.md");
    const auto start = text.find("\nMetrics: ");
    if (start == std::string::npos) return {};
    const auto end = text.find("\n\n", start + 1);
    const std::string paragraph = text.substr(start, end - start);
    std::set<std::string> names;
    for (auto at = paragraph.find("`talkgate_"); at != std::string::npos;
         at = paragraph.find("`talkgate_", at + 1)) {
        const auto end = paragraph.find_first_not_of("abcdefghijklmnopqrstuvwxyz_", at + 1);
        names.insert(paragraph.substr(at + 1, end - at - 1));
    }
    return names;
}

// The C++ sources under `dir`, except those under `skip` (relative to the checkout).
std::map<std::string, std::string> sources(const std::string& dir, const std::string& skip) {
    std::map<std::string, std::string> out;
    const fs::path root(source_dir());
    for (const auto& e : fs::recursive_directory_iterator(root / dir)) {
        if (!e.is_regular_file()) continue;
        const auto ext = e.path().extension();
        if (ext != ".cpp" && ext != ".hpp") continue;
        const std::string rel = fs::relative(e.path(), root).string();
        if (!skip.empty() && rel.rfind(skip, 0) == 0) continue;
        out[rel] = slurp(e.path());
    }
    return out;
}

bool mentioned(const std::map<std::string, std::string>& files, const std::string& what,
               const std::string& except = "") {
    for (const auto& [path, text] : files)
        if (path != except && text.find(what) != std::string::npos) return true;
    return false;
}

// How talkgate moves each metric: the call outside app/metrics/ that changes it.
const std::map<std::string, std::string> kMovedBy = {
    {"talkgate_notify_received_total", "metrics_.notify("},
    {"talkgate_notify_duplicates_total", "notify_duplicates.labels("},
    {"talkgate_notify_unmatched_total", "notify_unmatched.labels("},
    {"talkgate_notify_rejected_total", "notify_rejected.labels("},
    {"talkgate_answer_actions_total", "answer_action("},
    {"talkgate_bridge_api_request_seconds", "bridge_api_request_seconds.labels("},
    {"talkgate_notify_to_answer_command_seconds", "observe_notify_to_answer_command("},
    {"talkgate_notify_to_genesys_answered_seconds", "observe_notify_to_genesys_answered("},
    {"talkgate_active_calls", "set_active_calls("},
    {"talkgate_calls_total", "calls.labels("},
    {"talkgate_connection_up", "set_connection("},
    {"talkgate_reconnects_total", "reconnected("},
    {"talkgate_events_dropped_total", "events_dropped_since_start("},
    {"talkgate_resync_repairs_total", "resync_repairs.labels("},
    {"talkgate_handler_errors_total", "handler_errors.labels("},
    {"talkgate_bridge_api_refused_total", "bridge_api_refused.labels("},
    {"talkgate_hep_forwarded_total", "hep_forwarded.labels("},
    {"talkgate_lease_active", "lease_active.labels("},
    {"talkgate_redis_errors_total", "redis_errors.labels("},
};

TEST(ReadmeMetrics, EveryMetricTheReadmeNamesIsMovedByTalkgateAndByATest) {
    const auto named = readme_metrics();
    ASSERT_GE(named.size(), 10u) << "the README's Metrics: paragraph was not found";
    const auto app = sources("app", "app/metrics/");
    const auto tests = sources("tests", "");
    const std::string self = "tests/metrics/test_readme_metrics.cpp";
    for (const auto& metric : named) {
        SCOPED_TRACE(metric);
        auto how = kMovedBy.find(metric);
        ASSERT_NE(how, kMovedBy.end()) << "a README metric with no known call that moves it";
        EXPECT_TRUE(mentioned(app, how->second))
            << "nothing in app/ outside app/metrics/ calls " << how->second;
        EXPECT_TRUE(mentioned(tests, how->second, self) || mentioned(tests, metric, self))
            << "no test moves or reads it";
    }
    for (const auto& [metric, how] : kMovedBy)
        EXPECT_TRUE(named.count(metric)) << metric << " is exported but not in the README";
}

}  // namespace
}  // namespace talkgate::test
