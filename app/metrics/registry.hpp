#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

// A small Prometheus registry: counters, gauges and fixed-bucket histograms with label sets,
// rendered in the text exposition format 0.0.4. Look a label set up once, keep the reference:
// updating a child is lock-free (atomics); only the look-up and the rendering take a lock.
namespace talkgate::metrics {

// A monotonically increasing count.
class Counter {
  public:
    void inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

  private:
    std::atomic<std::uint64_t> value_{0};  // integral: every talkgate counter counts events
};

// A value that goes up and down.
class Gauge {
  public:
    void set(double v) { value_.store(v, std::memory_order_relaxed); }
    void inc(double d = 1.0);
    void dec(double d = 1.0) { inc(-d); }
    double value() const { return value_.load(std::memory_order_relaxed); }

  private:
    std::atomic<double> value_{0.0};
};

// Observations counted into fixed buckets (upper bounds, ascending), with their sum.
class Histogram {
  public:
    explicit Histogram(std::vector<double> bounds);
    void observe(double v);
    const std::vector<double>& bounds() const { return bounds_; }
    // Cumulative count per bound (as rendered in _bucket{le=...}), then +Inf last.
    std::vector<std::uint64_t> cumulative_counts() const;
    std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
    double sum() const { return sum_.load(std::memory_order_relaxed); }

  private:
    std::vector<double> bounds_;
    // One slot per bound plus +Inf; not cumulative, so observe touches one slot only.
    std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
    std::atomic<std::uint64_t> count_{0};
    std::atomic<double> sum_{0.0};
};

enum class MetricType { counter, gauge, histogram };
const char* to_string(MetricType type);

// Buckets for latencies in seconds, 1 ms to 10 s.
std::vector<double> latency_buckets();

// One metric family: a name, help, label names and one child per label-value set.
class FamilyBase {
  public:
    FamilyBase(std::string name, std::string help, std::vector<std::string> label_names);
    virtual ~FamilyBase() = default;
    FamilyBase(const FamilyBase&) = delete;
    FamilyBase& operator=(const FamilyBase&) = delete;

    const std::string& name() const { return name_; }
    const std::string& help() const { return help_; }
    const std::vector<std::string>& label_names() const { return label_names_; }
    virtual MetricType type() const = 0;
    // Appends HELP, TYPE and one sample line per child (per bucket for histograms).
    virtual void render(std::string& out) const = 0;

  protected:
    // Values beyond the family's label names are dropped, missing ones are empty: a wrong
    // arity is a programming error, but it must not take the controller down.
    std::vector<std::string> normalise(std::vector<std::string> values) const;
    void render_header(std::string& out) const;
    // `{a="x",b="y"` without the closing brace, or "" when there are no labels.
    std::string label_prefix(const std::vector<std::string>& values) const;

  private:
    std::string name_;
    std::string help_;
    std::vector<std::string> label_names_;
};

template <class T>
class Family;

template <>
class Family<Counter> final : public FamilyBase {
  public:
    using FamilyBase::FamilyBase;
    Counter& labels(std::vector<std::string> values);
    MetricType type() const override { return MetricType::counter; }
    void render(std::string& out) const override;

  private:
    mutable std::mutex mutex_;  // guards the map, never a child's value
    std::map<std::vector<std::string>, std::unique_ptr<Counter>> children_;
};

template <>
class Family<Gauge> final : public FamilyBase {
  public:
    using FamilyBase::FamilyBase;
    Gauge& labels(std::vector<std::string> values);
    MetricType type() const override { return MetricType::gauge; }
    void render(std::string& out) const override;

  private:
    mutable std::mutex mutex_;  // guards the map, never a child's value
    std::map<std::vector<std::string>, std::unique_ptr<Gauge>> children_;
};

template <>
class Family<Histogram> final : public FamilyBase {
  public:
    Family(std::string name, std::string help, std::vector<std::string> label_names,
           std::vector<double> bounds);
    Histogram& labels(std::vector<std::string> values);
    MetricType type() const override { return MetricType::histogram; }
    void render(std::string& out) const override;

  private:
    std::vector<double> bounds_;  // shared by every child
    mutable std::mutex mutex_;    // guards the map, never a child's value
    std::map<std::vector<std::string>, std::unique_ptr<Histogram>> children_;
};

// Owns the families in registration order and renders them all.
class Registry {
  public:
    Registry() = default;
    Registry(const Registry&) = delete;
    Registry& operator=(const Registry&) = delete;

    // Registering a name twice returns the first family when the kind matches. An invalid
    // name ([a-zA-Z_:][a-zA-Z0-9_:]*) or a kind clash throws std::invalid_argument: that is a
    // programming error, and registration happens at startup, synchronously.
    Family<Counter>& counter(const std::string& name, const std::string& help,
                             std::vector<std::string> label_names = {});
    Family<Gauge>& gauge(const std::string& name, const std::string& help,
                         std::vector<std::string> label_names = {});
    Family<Histogram>& histogram(const std::string& name, const std::string& help,
                                 std::vector<std::string> label_names, std::vector<double> bounds);

    // The whole registry in text exposition format 0.0.4.
    std::string render() const;
    std::vector<std::string> family_names() const;

    static constexpr const char* content_type = "text/plain; version=0.0.4; charset=utf-8";

  private:
    template <class F, class... Args>
    F& add(const std::string& name, Args&&... args);

    mutable std::mutex mutex_;  // guards families_ (registration vs rendering)
    std::vector<std::unique_ptr<FamilyBase>> families_;
};

// Text exposition helpers, public for tests.
std::string escape_label_value(const std::string& v);
std::string escape_help(const std::string& v);
std::string format_value(double v);
bool valid_metric_name(const std::string& name);
bool valid_label_name(const std::string& name);

}  // namespace talkgate::metrics
