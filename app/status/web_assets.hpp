#pragma once

#include <string_view>

namespace talkgate::status {

// A file of the live web page (app/status/web/, compiled in by CMake: no files at run time).
struct WebAsset {
    std::string_view content_type;
    std::string_view body;
};

// index.html, page.js or page.css; null for any other name.
const WebAsset* web_asset(std::string_view name);

}  // namespace talkgate::status
