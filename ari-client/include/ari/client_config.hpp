#pragma once

#include <chrono>
#include <string>

namespace ari {

// Where and as whom to reach Asterisk's ARI.
struct ClientConfig {
    std::string base_url;  // http(s)://host:port, without /ari
    std::string user;
    std::string password;
    std::string app;
    std::chrono::milliseconds request_timeout{5000};
    std::string ca_file;    // extra CA bundle for https/wss
    bool insecure = false;  // skip certificate checks (explicit opt-in, logged)
};

}  // namespace ari
