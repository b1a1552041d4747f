#pragma once

#include <string_view>

namespace talkgate::status {

// The status API's OpenAPI 3 document (app/status/openapi.json, compiled in): GET /openapi.json.
std::string_view openapi_document();

}  // namespace talkgate::status
