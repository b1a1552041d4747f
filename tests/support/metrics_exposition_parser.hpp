#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

// A parser for the Prometheus text exposition format 0.0.4, strict enough to catch what a real
// Prometheus would reject or misread: grammar, escapes, TYPE placement, family grouping,
// duplicate series, and histogram consistency (le order, cumulative buckets, +Inf == _count).
namespace talkgate::test {

struct PromSample {
    std::string name;                           // as written: may carry _bucket/_sum/_count
    std::map<std::string, std::string> labels;  // unescaped values
    double value = 0;
    std::optional<long long> timestamp_ms;
};

struct PromFamily {
    std::string name;
    std::string type = "untyped";  // counter, gauge, histogram, summary, untyped
    std::string help;              // unescaped
    std::vector<PromSample> samples;
};

struct PromParseResult {
    std::vector<PromFamily> families;
    std::string error;  // empty when the text is valid
    int error_line = 0;

    bool ok() const { return error.empty(); }
    const PromFamily* family(const std::string& name) const;
    // The value of the sample with exactly this name and these labels, if there is one.
    std::optional<double> value(const std::string& sample_name,
                                const std::map<std::string, std::string>& labels = {}) const;
};

PromParseResult parse_prometheus_text(const std::string& text);

}  // namespace talkgate::test
