#pragma once

#include "ari/result.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ari {

// A party as ARI shows it (caller, connected).
struct CallerId {
    std::string name;
    std::string number;
};

// Where a channel is in the dialplan.
struct DialplanCep {
    std::string context;
    std::string exten;
    long priority = 0;
    std::string app_name;
    std::string app_data;
};

// An ARI Channel; `raw` keeps every field, typed ones are copies.
struct Channel {
    std::string id;
    std::string name;
    std::string state;        // Down, Ring, Ringing, Up, Busy, ...
    std::string protocol_id;  // the SIP Call-ID for PJSIP channels
    CallerId caller;
    CallerId connected;
    DialplanCep dialplan;
    std::string creationtime;
    std::string language;
    std::map<std::string, std::string> channelvars;  // ari.conf channelvars=
    nlohmann::json raw;
};

struct Bridge {
    std::string id;
    std::string technology;
    std::string bridge_type;  // mixing, holding
    std::string bridge_class;
    std::string name;
    std::vector<std::string> channels;
    std::string creationtime;
    nlohmann::json raw;
};

struct Endpoint {
    std::string technology;
    std::string resource;
    std::string state;  // online, offline, unknown
    std::vector<std::string> channel_ids;
    nlohmann::json raw;
};

struct Application {
    std::string name;
    std::vector<std::string> channel_ids;
    std::vector<std::string> bridge_ids;
    std::vector<std::string> endpoint_ids;
    std::vector<std::string> device_names;
    nlohmann::json events_allowed;
    nlohmann::json events_disallowed;
    nlohmann::json raw;
};

// Lenient parsers: missing optional fields stay empty; a non-object is a decode error.
Result<Channel> parse_channel(const nlohmann::json& j);
Result<Bridge> parse_bridge(const nlohmann::json& j);
Result<Endpoint> parse_endpoint(const nlohmann::json& j);
Result<Application> parse_application(const nlohmann::json& j);

}  // namespace ari
