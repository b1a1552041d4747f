#pragma once

#include "wire/wire_text.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace talkgate::ami {

// One AMI message (response, event or action): an ordered list of key/value pairs, because keys
// repeat in AMI (Output:, ChanVariable:, Variable:) and their order carries meaning.
class Message {
  public:
    using Field = std::pair<std::string, std::string>;

    Message() = default;
    explicit Message(std::vector<Field> fields) : fields_(std::move(fields)) {}

    // Every pair in wire order, for converters that need repeated or unknown keys.
    const std::vector<Field>& fields() const { return fields_; }
    std::vector<Field>& fields() { return fields_; }

    // The value of the first field named `key` (case-insensitive, as Asterisk compares keys).
    std::optional<std::string> get(std::string_view key) const;
    // get(key) or `fallback` when absent.
    std::string get_or(std::string_view key, std::string_view fallback) const;
    // Every value of `key` in wire order.
    std::vector<std::string> get_all(std::string_view key) const;
    bool has(std::string_view key) const;

    void add(std::string key, std::string value) {
        fields_.emplace_back(std::move(key), std::move(value));
    }
    bool empty() const { return fields_.empty(); }

    // `Event:` value, or empty for responses.
    std::string event() const { return get_or("Event", ""); }
    // `Response:` value (Success, Error, Goodbye, Follows), or empty for events.
    std::string response() const { return get_or("Response", ""); }
    bool is_event() const { return has("Event"); }
    // Some events carry a Response: field too (OriginateResponse): an event is never a reply.
    bool is_response() const { return has("Response") && !has("Event"); }

  private:
    std::vector<Field> fields_;
};

// ASCII case-insensitive equality, the way Asterisk matches header names.
using wire::iequals;

}  // namespace talkgate::ami
