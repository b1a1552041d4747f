#pragma once

#include <set>
#include <string>

namespace talkgate::test {

// The metric names a PromQL expression reads, found with a tokenizer: identifiers that are not
// functions, keywords, label names (inside {...} or by/without/on/ignoring (...)), durations or
// Grafana variables. Throws std::invalid_argument on text it cannot tokenize.
std::set<std::string> promql_metric_names(const std::string& expr);

}  // namespace talkgate::test
