#include "ami/message.hpp"

namespace talkgate::ami {

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
