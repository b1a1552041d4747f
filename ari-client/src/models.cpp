#include "ari/models.hpp"

namespace ari {
namespace {

std::string str(const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return {};
    return it->get<std::string>();
}

std::vector<std::string> strings(const nlohmann::json& j, const char* key) {
    std::vector<std::string> out;
    auto it = j.find(key);
    if (it == j.end() || !it->is_array()) return out;
    out.reserve(it->size());
    for (const auto& v : *it)
        if (v.is_string()) out.push_back(v.get<std::string>());
    return out;
}

CallerId caller_id(const nlohmann::json& j, const char* key) {
    CallerId c;
    auto it = j.find(key);
    if (it == j.end() || !it->is_object()) return c;
    c.name = str(*it, "name");
    c.number = str(*it, "number");
    return c;
}

nlohmann::json array_or_empty(const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_array() ? *it : nlohmann::json::array();
}

Error not_object(const char* what) {
    return Error{Error::Kind::decode, 0, std::string(what) + " is not a JSON object"};
}

}  // namespace

Result<Channel> parse_channel(const nlohmann::json& j) {
    if (!j.is_object()) return not_object("channel");
    Channel c;
    c.id = str(j, "id");
    if (c.id.empty()) return Error{Error::Kind::decode, 0, "channel without id"};
    c.name = str(j, "name");
    c.state = str(j, "state");
    c.protocol_id = str(j, "protocol_id");
    c.caller = caller_id(j, "caller");
    c.connected = caller_id(j, "connected");
    if (auto it = j.find("dialplan"); it != j.end() && it->is_object()) {
        c.dialplan.context = str(*it, "context");
        c.dialplan.exten = str(*it, "exten");
        if (auto p = it->find("priority"); p != it->end() && p->is_number_integer())
            c.dialplan.priority = p->get<long>();
        c.dialplan.app_name = str(*it, "app_name");
        c.dialplan.app_data = str(*it, "app_data");
    }
    c.creationtime = str(j, "creationtime");
    c.language = str(j, "language");
    if (auto it = j.find("channelvars"); it != j.end() && it->is_object()) {
        for (const auto& [k, v] : it->items())
            c.channelvars[k] = v.is_string() ? v.get<std::string>() : v.dump();
    }
    c.raw = j;
    return c;
}

Result<Bridge> parse_bridge(const nlohmann::json& j) {
    if (!j.is_object()) return not_object("bridge");
    Bridge b;
    b.id = str(j, "id");
    if (b.id.empty()) return Error{Error::Kind::decode, 0, "bridge without id"};
    b.technology = str(j, "technology");
    b.bridge_type = str(j, "bridge_type");
    b.bridge_class = str(j, "bridge_class");
    b.name = str(j, "name");
    b.channels = strings(j, "channels");
    b.creationtime = str(j, "creationtime");
    b.raw = j;
    return b;
}

Result<Endpoint> parse_endpoint(const nlohmann::json& j) {
    if (!j.is_object()) return not_object("endpoint");
    Endpoint e;
    e.technology = str(j, "technology");
    e.resource = str(j, "resource");
    e.state = str(j, "state");
    e.channel_ids = strings(j, "channel_ids");
    e.raw = j;
    return e;
}

Result<Application> parse_application(const nlohmann::json& j) {
    if (!j.is_object()) return not_object("application");
    Application a;
    a.name = str(j, "name");
    a.channel_ids = strings(j, "channel_ids");
    a.bridge_ids = strings(j, "bridge_ids");
    a.endpoint_ids = strings(j, "endpoint_ids");
    a.device_names = strings(j, "device_names");
    a.events_allowed = array_or_empty(j, "events_allowed");
    a.events_disallowed = array_or_empty(j, "events_disallowed");
    a.raw = j;
    return a;
}

}  // namespace ari
