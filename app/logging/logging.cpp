#include "logging/logging.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

namespace talkgate::logging {

std::optional<spdlog::level::level_enum> parse_level(const std::string& value) {
    std::string v = value;
    std::transform(v.begin(), v.end(), v.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (v == "trace") return spdlog::level::trace;
    if (v == "debug") return spdlog::level::debug;
    if (v == "info") return spdlog::level::info;
    if (v == "warn" || v == "warning") return spdlog::level::warn;
    if (v == "error" || v == "err") return spdlog::level::err;
    if (v == "critical" || v == "fatal") return spdlog::level::critical;
    if (v == "off" || v == "none") return spdlog::level::off;
    return std::nullopt;
}

bool configure(const std::string& level, std::string* error) {
    auto parsed = level.empty() ? std::optional(spdlog::level::info) : parse_level(level);
    spdlog::set_pattern(line_pattern);
    spdlog::set_level(parsed.value_or(spdlog::level::info));
    if (!parsed && error) {
        *error = "LOG_LEVEL '" + level +
                 "' is not one of trace, debug, info, warn, error, critical, off";
    }
    return parsed.has_value();
}

}  // namespace talkgate::logging
