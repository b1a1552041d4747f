#include "metrics_exposition_parser.hpp"

#include <cmath>
#include <cstdlib>
#include <set>
#include <sstream>

namespace talkgate::test {

namespace {

bool is_name_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_name_char(char c) {
    return is_name_start(c) || (c >= '0' && c <= '9');
}

// A cursor over one line; every reader returns false (and sets `error`) on bad input.
class LineReader {
  public:
    explicit LineReader(const std::string& line) : s_(line) {}

    bool at_end() const { return pos_ >= s_.size(); }
    char peek() const { return at_end() ? '\0' : s_[pos_]; }
    bool consume(char c) {
        if (peek() != c) return false;
        ++pos_;
        return true;
    }
    void skip_blanks() {
        while (!at_end() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
    }
    std::string rest() const { return at_end() ? std::string() : s_.substr(pos_); }

    bool metric_name(std::string& out) {
        std::size_t start = pos_;
        if (!(is_name_start(peek()) || peek() == ':')) return fail("expected a metric name");
        while (!at_end() && (is_name_char(s_[pos_]) || s_[pos_] == ':')) ++pos_;
        out = s_.substr(start, pos_ - start);
        return true;
    }
    bool label_name(std::string& out) {
        std::size_t start = pos_;
        if (!is_name_start(peek())) return fail("expected a label name");
        while (!at_end() && is_name_char(s_[pos_])) ++pos_;
        out = s_.substr(start, pos_ - start);
        return true;
    }
    // A double-quoted label value with \\, \" and \n escapes.
    bool quoted(std::string& out) {
        if (!consume('"')) return fail("expected '\"' to open a label value");
        out.clear();
        while (true) {
            if (at_end()) return fail("unterminated label value");
            char c = s_[pos_++];
            if (c == '"') return true;
            if (c == '\n') return fail("raw newline in label value");
            if (c != '\\') {
                out += c;
                continue;
            }
            if (at_end()) return fail("dangling backslash in label value");
            char e = s_[pos_++];
            if (e == '\\') {
                out += '\\';
            } else if (e == '"') {
                out += '"';
            } else if (e == 'n') {
                out += '\n';
            } else {
                return fail(std::string("unknown escape \\") + e + " in label value");
            }
        }
    }
    // A token up to the next blank, for values and timestamps.
    std::string token() {
        std::size_t start = pos_;
        while (!at_end() && s_[pos_] != ' ' && s_[pos_] != '\t') ++pos_;
        return s_.substr(start, pos_ - start);
    }

    bool fail(std::string why) {
        if (error.empty()) error = std::move(why) + " at column " + std::to_string(pos_ + 1);
        return false;
    }
    std::string error;

  private:
    const std::string& s_;
    std::size_t pos_ = 0;
};

bool parse_float(const std::string& t, double& out) {
    if (t == "+Inf" || t == "Inf") {
        out = HUGE_VAL;
        return true;
    }
    if (t == "-Inf") {
        out = -HUGE_VAL;
        return true;
    }
    if (t == "NaN") {
        out = std::nan("");
        return true;
    }
    if (t.empty()) return false;
    // strtod accepts "inf", "nan", hex and leading blanks, which Prometheus's Go parser does not.
    for (char c : t) {
        if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'))
            return false;
    }
    char* end = nullptr;
    out = std::strtod(t.c_str(), &end);
    return end == t.c_str() + t.size();
}

bool parse_int(const std::string& t, long long& out) {
    if (t.empty()) return false;
    char* end = nullptr;
    out = std::strtoll(t.c_str(), &end, 10);
    return end == t.c_str() + t.size();
}

std::string unescape_help(const std::string& s, std::string& error) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\') {
            out += s[i];
            continue;
        }
        if (i + 1 == s.size()) {
            error = "dangling backslash in HELP";
            return out;
        }
        char e = s[++i];
        if (e == '\\') {
            out += '\\';
        } else if (e == 'n') {
            out += '\n';
        } else {
            error = std::string("unknown escape \\") + e + " in HELP";
            return out;
        }
    }
    return out;
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() > suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The family a sample belongs to, given the family types declared so far.
std::string family_of(const std::string& sample, const std::map<std::string, std::string>& types) {
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        if (!ends_with(sample, suffix)) continue;
        std::string base = sample.substr(0, sample.size() - std::string(suffix).size());
        auto it = types.find(base);
        if (it == types.end()) continue;
        if (it->second == "histogram" ||
            (it->second == "summary" && std::string(suffix) != "_bucket"))
            return base;
    }
    return sample;
}

std::string check_histogram(const PromFamily& f) {
    // Group by the label set without `le`.
    struct Series {
        std::vector<std::pair<double, double>> buckets;  // (le, cumulative count)
        std::optional<double> count, sum;
    };
    std::map<std::map<std::string, std::string>, Series> series;
    for (const auto& s : f.samples) {
        auto labels = s.labels;
        if (s.name == f.name + "_bucket") {
            auto le = labels.find("le");
            if (le == labels.end()) return f.name + "_bucket without le";
            double bound = 0;
            if (!parse_float(le->second, bound)) return f.name + ": bad le \"" + le->second + "\"";
            labels.erase(le);
            series[labels].buckets.emplace_back(bound, s.value);
        } else if (s.name == f.name + "_count") {
            series[labels].count = s.value;
        } else if (s.name == f.name + "_sum") {
            series[labels].sum = s.value;
        } else {
            return "sample " + s.name + " in histogram " + f.name;
        }
    }
    for (const auto& [labels, s] : series) {
        if (s.buckets.empty()) return f.name + ": a series without buckets";
        if (!s.count || !s.sum) return f.name + ": a series without _count or _sum";
        for (std::size_t i = 1; i < s.buckets.size(); ++i) {
            if (!(s.buckets[i].first > s.buckets[i - 1].first))
                return f.name + ": le bounds not ascending";
            if (s.buckets[i].second < s.buckets[i - 1].second)
                return f.name + ": bucket counts not cumulative";
        }
        if (!std::isinf(s.buckets.back().first)) return f.name + ": no +Inf bucket";
        if (s.buckets.back().second != *s.count) return f.name + ": +Inf bucket != _count";
    }
    return {};
}

}  // namespace

const PromFamily* PromParseResult::family(const std::string& name) const {
    for (const auto& f : families) {
        if (f.name == name) return &f;
    }
    return nullptr;
}

std::optional<double> PromParseResult::value(
    const std::string& sample_name, const std::map<std::string, std::string>& labels) const {
    for (const auto& f : families) {
        for (const auto& s : f.samples) {
            if (s.name == sample_name && s.labels == labels) return s.value;
        }
    }
    return std::nullopt;
}

PromParseResult parse_prometheus_text(const std::string& text) {
    PromParseResult r;
    std::map<std::string, std::string> types;  // family -> declared type
    std::set<std::string> helped;              // families with a HELP line
    std::set<std::string> closed;              // families whose group has ended
    std::set<std::pair<std::string, std::map<std::string, std::string>>> seen;  // series
    std::size_t cur = 0;  // index of the current family; pointers would dangle on push_back
    auto current = [&]() -> PromFamily* { return cur ? &r.families[cur - 1] : nullptr; };

    auto fail = [&](int line, std::string why) {
        r.error = std::move(why);
        r.error_line = line;
        return r;
    };
    // Switches the current family, refusing to reopen one whose lines ended earlier.
    auto enter = [&](const std::string& name) -> bool {
        if (current() && current()->name == name) return true;
        if (current()) closed.insert(current()->name);
        if (closed.count(name)) return false;
        r.families.push_back(PromFamily{});
        r.families.back().name = name;
        auto t = types.find(name);
        if (t != types.end()) r.families.back().type = t->second;
        cur = r.families.size();
        return true;
    };

    if (!text.empty() && text.back() != '\n') return fail(0, "text does not end with a newline");
    std::istringstream in(text);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        ++n;
        if (!line.empty() && line.back() == '\r') return fail(n, "carriage return in line");
        LineReader rd(line);
        rd.skip_blanks();
        if (rd.at_end()) continue;
        if (rd.consume('#')) {
            rd.skip_blanks();
            std::string keyword = rd.token();
            if (keyword != "HELP" && keyword != "TYPE") continue;  // a plain comment
            rd.skip_blanks();
            std::string name;
            if (!rd.metric_name(name)) return fail(n, rd.error);
            if (!enter(name)) return fail(n, keyword + " for " + name + " after its samples ended");
            if (keyword == "HELP") {
                if (!helped.insert(name).second) return fail(n, "second HELP for " + name);
                if (!rd.at_end() && !rd.consume(' ') && !rd.consume('\t'))
                    return fail(n, "no blank after the name in HELP");
                std::string err;
                current()->help = unescape_help(rd.rest(), err);
                if (!err.empty()) return fail(n, err);
                continue;
            }
            if (!rd.consume(' ') && !rd.consume('\t')) return fail(n, "no blank after TYPE name");
            rd.skip_blanks();
            std::string type = rd.token();
            rd.skip_blanks();
            if (!rd.at_end()) return fail(n, "trailing text after TYPE");
            if (type != "counter" && type != "gauge" && type != "histogram" && type != "summary" &&
                type != "untyped")
                return fail(n, "unknown type " + type);
            if (types.count(name)) return fail(n, "second TYPE for " + name);
            if (!current()->samples.empty())
                return fail(n, "TYPE for " + name + " after its samples");
            types[name] = type;
            current()->type = type;
            continue;
        }

        PromSample s;
        if (!rd.metric_name(s.name)) return fail(n, rd.error);
        if (rd.consume('{')) {
            rd.skip_blanks();
            while (!rd.consume('}')) {
                std::string label, value;
                if (!rd.label_name(label)) return fail(n, rd.error);
                rd.skip_blanks();
                if (!rd.consume('=')) return fail(n, "expected '=' after label " + label);
                rd.skip_blanks();
                if (!rd.quoted(value)) return fail(n, rd.error);
                if (!s.labels.emplace(label, value).second)
                    return fail(n, "label " + label + " repeated");
                rd.skip_blanks();
                if (rd.consume(',')) {
                    rd.skip_blanks();
                    continue;
                }
                if (rd.peek() != '}') return fail(n, "expected ',' or '}' in labels");
            }
        }
        if (!rd.consume(' ') && !rd.consume('\t')) return fail(n, "no blank before the value");
        rd.skip_blanks();
        std::string value = rd.token();
        if (!parse_float(value, s.value)) return fail(n, "bad value \"" + value + "\"");
        rd.skip_blanks();
        if (!rd.at_end()) {
            long long ts = 0;
            std::string t = rd.token();
            if (!parse_int(t, ts)) return fail(n, "bad timestamp \"" + t + "\"");
            s.timestamp_ms = ts;
            rd.skip_blanks();
            if (!rd.at_end()) return fail(n, "trailing text after the timestamp");
        }
        std::string fam = family_of(s.name, types);
        if (!enter(fam)) return fail(n, "samples of " + fam + " are not grouped together");
        if (!seen.insert({s.name, s.labels}).second)
            return fail(n, "series " + s.name + " repeated with the same labels");
        if (current()->type == "counter" && (s.value < 0 || std::isnan(s.value)))
            return fail(n, "counter " + s.name + " is negative or NaN");
        if (current()->type != "histogram" && current()->type != "summary" && s.labels.count("le"))
            return fail(n, "label le outside a histogram");
        current()->samples.push_back(std::move(s));
    }
    for (const auto& f : r.families) {
        if (f.type != "histogram") continue;
        std::string why = check_histogram(f);
        if (!why.empty()) return fail(0, why);
    }
    return r;
}

}  // namespace talkgate::test
