#include "ami/message.hpp"

namespace talkgate::ami {

namespace {

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

std::optional<std::string> Message::get(std::string_view key) const {
    for (const auto& [k, v] : fields_) {
        if (iequals(k, key)) return v;
    }
    return std::nullopt;
}

std::string Message::get_or(std::string_view key, std::string_view fallback) const {
    for (const auto& [k, v] : fields_) {
        if (iequals(k, key)) return v;
    }
    return std::string(fallback);
}

std::vector<std::string> Message::get_all(std::string_view key) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : fields_) {
        if (iequals(k, key)) out.push_back(v);
    }
    return out;
}

bool Message::has(std::string_view key) const {
    for (const auto& field : fields_) {
        if (iequals(field.first, key)) return true;
    }
    return false;
}

}  // namespace talkgate::ami
