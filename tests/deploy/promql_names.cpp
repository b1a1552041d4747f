#include "promql_names.hpp"

#include <cctype>
#include <set>
#include <stdexcept>
#include <vector>

namespace talkgate::test {

namespace {

enum class Kind { ident, number, string, punct, variable, duration };

struct Token {
    Kind kind;
    std::string text;
};

bool ident_start(char c) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}
bool ident_char(char c) {
    return ident_start(c) || std::isdigit(static_cast<unsigned char>(c));
}

std::vector<Token> tokenize(const std::string& s) {
    std::vector<Token> out;
    std::size_t i = 0;
    while (i < s.size()) {
        char c = s[i];
        if (std::isspace(static_cast<unsigned char>(c))) {
            ++i;
        } else if (c == '"' || c == '\'' || c == '`') {
            std::size_t j = i + 1;
            while (j < s.size() && s[j] != c) j += (s[j] == '\\' && c != '`') ? 2 : 1;
            if (j >= s.size()) throw std::invalid_argument("unterminated string in: " + s);
            out.push_back({Kind::string, s.substr(i, j + 1 - i)});
            i = j + 1;
        } else if (c == '$') {
            // Grafana's $__rate_interval, ${var}, $var
            std::size_t j = i + 1;
            if (j < s.size() && s[j] == '{') {
                j = s.find('}', j);
                if (j == std::string::npos) throw std::invalid_argument("unterminated ${ in: " + s);
                ++j;
            } else {
                while (j < s.size() && ident_char(s[j])) ++j;
            }
            out.push_back({Kind::variable, s.substr(i, j - i)});
            i = j;
        } else if (std::isdigit(static_cast<unsigned char>(c)) ||
                   (c == '.' && i + 1 < s.size() &&
                    std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
            // Numbers and durations (5m, 1h30m, 0.95, 1e3).
            std::size_t j = i;
            bool duration = false;
            while (j < s.size() &&
                   (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '.')) {
                if (std::isalpha(static_cast<unsigned char>(s[j])) && s[j] != 'e') duration = true;
                ++j;
            }
            out.push_back({duration ? Kind::duration : Kind::number, s.substr(i, j - i)});
            i = j;
        } else if (ident_start(c)) {
            std::size_t j = i;
            while (j < s.size() && ident_char(s[j])) ++j;
            out.push_back({Kind::ident, s.substr(i, j - i)});
            i = j;
        } else if (std::string("(){}[],+-*/%^=!<>~@").find(c) != std::string::npos) {
            out.push_back({Kind::punct, std::string(1, c)});
            ++i;
        } else {
            throw std::invalid_argument(std::string("unexpected '") + c + "' in: " + s);
        }
    }
    return out;
}

bool is_keyword(const std::string& w) {
    static const std::set<std::string> words = {
        "by",  "without", "on",     "ignoring", "group_left", "group_right", "bool",
        "and", "or",      "unless", "offset",   "inf",        "nan",         "atan2"};
    std::string lower;
    for (char c : w) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return words.count(lower) > 0;
}

// Aggregation operators read like identifiers before `by (...)` / `without (...)`.
bool is_aggregation(const std::string& w) {
    static const std::set<std::string> ops = {
        "sum",  "avg",     "min",   "max",          "count",    "stddev", "stdvar",
        "topk", "bottomk", "group", "count_values", "quantile", "limitk", "limit_ratio"};
    return ops.count(w) > 0;
}

bool takes_label_list(const std::string& w) {
    return w == "by" || w == "without" || w == "on" || w == "ignoring" || w == "group_left" ||
           w == "group_right";
}

}  // namespace

std::set<std::string> promql_metric_names(const std::string& expr) {
    auto tokens = tokenize(expr);
    std::set<std::string> names;
    int braces = 0;    // inside {label matchers}
    int brackets = 0;  // inside [range:step]
    int parens = 0;    // only checked for balance
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        const Token& t = tokens[i];
        if (t.kind == Kind::punct) {
            if (t.text == "{") ++braces;
            if (t.text == "}") --braces;
            if (t.text == "[") ++brackets;
            if (t.text == "]") --brackets;
            if (t.text == "(") ++parens;
            if (t.text == ")") --parens;
            if (braces < 0 || brackets < 0 || parens < 0)
                throw std::invalid_argument("unbalanced in: " + expr);
            continue;
        }
        if (t.kind != Kind::ident || braces > 0 || brackets > 0) continue;
        if (takes_label_list(t.text)) {
            // Skip the label list: by (a, b)
            if (i + 1 < tokens.size() && tokens[i + 1].text == "(") {
                std::size_t j = i + 2;
                while (j < tokens.size() && tokens[j].text != ")") ++j;
                if (j == tokens.size()) throw std::invalid_argument("unclosed label list: " + expr);
                i = j;
            }
            continue;
        }
        if (is_keyword(t.text) || is_aggregation(t.text)) continue;
        bool call = i + 1 < tokens.size() && tokens[i + 1].text == "(";
        if (call) continue;
        names.insert(t.text);
    }
    if (braces != 0 || brackets != 0 || parens != 0)
        throw std::invalid_argument("unbalanced in: " + expr);
    return names;
}

}  // namespace talkgate::test
