#pragma once

#include "ami/message.hpp"

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace talkgate::ami {

// An AMI action to send: its name, its fields (ActionID is added by the client), and its
// deadline for the complete reply.
struct Action {
    std::string name;
    std::vector<Message::Field> fields;
    std::chrono::milliseconds timeout{0};  // 0: Settings::action_timeout

    Action() = default;
    explicit Action(std::string action_name, std::vector<Message::Field> action_fields = {},
                    std::chrono::milliseconds deadline = std::chrono::milliseconds(0))
        : name(std::move(action_name)), fields(std::move(action_fields)), timeout(deadline) {}
};

// Writes `action` with `action_id` in AMI wire form to `out`. Returns an empty string on
// success, or why the action cannot be written (CR/LF or a colon in a key, CR/LF in a value, a
// caller-supplied ActionID): a field must never smuggle a second line or a second action in.
std::string serialize_action(const Action& action, std::string_view action_id, std::string& out);

}  // namespace talkgate::ami
