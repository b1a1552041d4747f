#include "ami/action.hpp"

namespace talkgate::ami {

namespace {

bool has_line_break(std::string_view s) {
    return s.find_first_of("\r\n") != std::string_view::npos;
}

bool valid_key(std::string_view key) {
    return !key.empty() && !has_line_break(key) && key.find(':') == std::string_view::npos &&
           key.find_first_of(" \t") == std::string_view::npos;
}

}  // namespace

std::string serialize_action(const Action& action, std::string_view action_id, std::string& out) {
    if (!valid_key(action.name)) return "invalid action name";
    for (const auto& [key, value] : action.fields) {
        if (!valid_key(key)) return "invalid key in action " + action.name;
        if (iequals(key, "ActionID") || iequals(key, "Action")) {
            return "action " + action.name + " must not set " + key + " itself";
        }
        if (has_line_break(value)) return "line break in field " + key + " of " + action.name;
    }
    out.clear();
    out.reserve(64 + action.name.size() + action.fields.size() * 32);
    out.append("Action: ").append(action.name).append("\r\n");
    out.append("ActionID: ").append(action_id).append("\r\n");
    for (const auto& [key, value] : action.fields) {
        out.append(key).append(": ").append(value).append("\r\n");
    }
    out.append("\r\n");
    return {};
}

}  // namespace talkgate::ami
