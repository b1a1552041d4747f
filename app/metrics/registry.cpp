#include "metrics/registry.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace talkgate::metrics {

namespace {

// C++17 has no fetch_add for atomic<double>: a compare-exchange loop does it.
void atomic_add(std::atomic<double>& a, double d) {
    double cur = a.load(std::memory_order_relaxed);
    while (!a.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
    }
}

}  // namespace

void Gauge::inc(double d) {
    atomic_add(value_, d);
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
    for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double v) {
    // Few buckets: a linear scan beats a binary search's branch misses.
    std::size_t i = 0;
    while (i < bounds_.size() && v > bounds_[i]) ++i;
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    atomic_add(sum_, v);
    count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::cumulative_counts() const {
    std::vector<std::uint64_t> out(bounds_.size() + 1);
    std::uint64_t acc = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        acc += buckets_[i].load(std::memory_order_relaxed);
        out[i] = acc;
    }
    return out;
}

const char* to_string(MetricType type) {
    switch (type) {
        case MetricType::counter:
            return "counter";
        case MetricType::gauge:
            return "gauge";
        case MetricType::histogram:
            return "histogram";
    }
    return "untyped";
}

std::vector<double> latency_buckets() {
    return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::string escape_label_value(const std::string& v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::string escape_help(const std::string& v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::string format_value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[40];
    // The shortest of %.15g / %.17g that reads back exactly: 0.1 stays "0.1".
    std::snprintf(buf, sizeof buf, "%.15g", v);
    if (std::strtod(buf, nullptr) != v) std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

bool valid_metric_name(const std::string& name) {
    if (name.empty()) return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok) return false;
    }
    return true;
}

bool valid_label_name(const std::string& name) {
    if (name.empty() || name.rfind("__", 0) == 0) return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok) return false;
    }
    return true;
}

FamilyBase::FamilyBase(std::string name, std::string help, std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {
    if (!valid_metric_name(name_)) throw std::invalid_argument("invalid metric name: " + name_);
    for (const auto& l : label_names_) {
        if (!valid_label_name(l) || l == "le") {
            throw std::invalid_argument("invalid label name for " + name_ + ": " + l);
        }
    }
}

std::vector<std::string> FamilyBase::normalise(std::vector<std::string> values) const {
    values.resize(label_names_.size());
    return values;
}

void FamilyBase::render_header(std::string& out) const {
    out += "# HELP ";
    out += name_;
    out += ' ';
    out += escape_help(help_);
    out += "\n# TYPE ";
    out += name_;
    out += ' ';
    out += to_string(type());
    out += '\n';
}

std::string FamilyBase::label_prefix(const std::vector<std::string>& values) const {
    if (label_names_.empty()) return {};
    std::string out = "{";
    for (std::size_t i = 0; i < label_names_.size(); ++i) {
        if (i) out += ',';
        out += label_names_[i];
        out += "=\"";
        out += escape_label_value(values[i]);
        out += '"';
    }
    return out;
}

namespace {

void sample(std::string& out, const std::string& name, const std::string& prefix,
            const std::string& value) {
    out += name;
    if (!prefix.empty()) {
        out += prefix;
        out += '}';
    }
    out += ' ';
    out += value;
    out += '\n';
}

// A family without labels has exactly one child, which exists (at 0) from the start.
template <class T, class Map, class... Args>
T& child(std::mutex& m, Map& children, std::vector<std::string> key, Args&&... args) {
    std::lock_guard<std::mutex> lock(m);
    auto it = children.find(key);
    if (it == children.end()) {
        it = children.emplace(std::move(key), std::make_unique<T>(std::forward<Args>(args)...))
                 .first;
    }
    return *it->second;
}

}  // namespace

Counter& Family<Counter>::labels(std::vector<std::string> values) {
    return child<Counter>(mutex_, children_, normalise(std::move(values)));
}

void Family<Counter>::render(std::string& out) const {
    render_header(out);
    std::lock_guard<std::mutex> lock(mutex_);
    if (children_.empty() && label_names().empty()) sample(out, name(), {}, "0");
    for (const auto& [values, c] : children_) {
        sample(out, name(), label_prefix(values), std::to_string(c->value()));
    }
}

Gauge& Family<Gauge>::labels(std::vector<std::string> values) {
    return child<Gauge>(mutex_, children_, normalise(std::move(values)));
}

void Family<Gauge>::render(std::string& out) const {
    render_header(out);
    std::lock_guard<std::mutex> lock(mutex_);
    if (children_.empty() && label_names().empty()) sample(out, name(), {}, "0");
    for (const auto& [values, g] : children_) {
        sample(out, name(), label_prefix(values), format_value(g->value()));
    }
}

Family<Histogram>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                          std::vector<double> bounds)
    : FamilyBase(std::move(name), std::move(help), std::move(label_names)),
      bounds_(std::move(bounds)) {
    std::sort(bounds_.begin(), bounds_.end());
    bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
    // +Inf is always the last bucket; an explicit one would render twice.
    while (!bounds_.empty() && std::isinf(bounds_.back())) bounds_.pop_back();
}

Histogram& Family<Histogram>::labels(std::vector<std::string> values) {
    return child<Histogram>(mutex_, children_, normalise(std::move(values)), bounds_);
}

void Family<Histogram>::render(std::string& out) const {
    render_header(out);
    std::lock_guard<std::mutex> lock(mutex_);
    auto render_one = [&](const std::string& prefix, const Histogram* h) {
        std::vector<std::uint64_t> counts =
            h ? h->cumulative_counts() : std::vector<std::uint64_t>(bounds_.size() + 1, 0);
        // _count is the +Inf bucket, so a scrape stays self-consistent under concurrent observes.
        std::uint64_t count = counts.back();
        double sum = h ? h->sum() : 0.0;
        const std::string open = prefix.empty() ? "{" : prefix + ",";
        for (std::size_t i = 0; i <= bounds_.size(); ++i) {
            std::string le = i < bounds_.size() ? format_value(bounds_[i]) : "+Inf";
            sample(out, name() + "_bucket", open + "le=\"" + le + "\"", std::to_string(counts[i]));
        }
        sample(out, name() + "_sum", prefix, format_value(sum));
        sample(out, name() + "_count", prefix, std::to_string(count));
    };
    if (children_.empty() && label_names().empty()) render_one({}, nullptr);
    for (const auto& [values, h] : children_) render_one(label_prefix(values), h.get());
}

template <class F, class... Args>
F& Registry::add(const std::string& name, Args&&... args) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& f : families_) {
        if (f->name() != name) continue;
        if (auto* same = dynamic_cast<F*>(f.get())) return *same;
        throw std::invalid_argument("metric " + name + " registered twice with different kinds");
    }
    auto family = std::make_unique<F>(name, std::forward<Args>(args)...);
    F& ref = *family;
    families_.push_back(std::move(family));
    return ref;
}

Family<Counter>& Registry::counter(const std::string& name, const std::string& help,
                                   std::vector<std::string> label_names) {
    return add<Family<Counter>>(name, help, std::move(label_names));
}

Family<Gauge>& Registry::gauge(const std::string& name, const std::string& help,
                               std::vector<std::string> label_names) {
    return add<Family<Gauge>>(name, help, std::move(label_names));
}

Family<Histogram>& Registry::histogram(const std::string& name, const std::string& help,
                                       std::vector<std::string> label_names,
                                       std::vector<double> bounds) {
    return add<Family<Histogram>>(name, help, std::move(label_names), std::move(bounds));
}

std::string Registry::render() const {
    std::string out;
    out.reserve(4096);
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& f : families_) f->render(out);
    return out;
}

std::vector<std::string> Registry::family_names() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> out;
    for (const auto& f : families_) out.push_back(f->name());
    return out;
}

}  // namespace talkgate::metrics
