#pragma once

#include <string>

namespace ari::detail {

// "Basic base64(user:password)": the only place credentials are ever put.
std::string basic_auth(const std::string& user, const std::string& password);

// Percent-encodes a path segment or query value.
std::string url_encode(const std::string& s);

}  // namespace ari::detail
