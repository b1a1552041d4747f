#pragma once

#include <spdlog/common.h>

#include <optional>
#include <string>

namespace talkgate::logging {

// The line format the existing deployment's operators read: `2026-01-28 10:35:01.123 | info    |
// ...`
inline constexpr const char* line_pattern = "%Y-%m-%d %H:%M:%S.%e | %-7l | %v";

// LOG_LEVEL's value, case-insensitive: trace, debug, info, warn/warning, error,
// critical, off. Anything else is nullopt.
std::optional<spdlog::level::level_enum> parse_level(const std::string& value);

// Applies LOG_LEVEL (empty means info) and the line format to every logger, the default one
// included. On an unknown level it sets info and returns false with a one-line reason.
bool configure(const std::string& level, std::string* error = nullptr);

}  // namespace talkgate::logging
