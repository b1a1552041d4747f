#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace talkgate::wire {

// JSON text that cannot throw: a string that is not UTF-8 (a header from the wire) gets U+FFFD
// for each bad byte instead of nlohmann's type_error 316, which would end the process.
inline std::string json_text(const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace talkgate::wire
