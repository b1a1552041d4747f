#include "config.hpp"

#include "ha/redis_url.hpp"
#include "wire/cidr.hpp"
#include "wire/wire_text.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

extern char** environ;

namespace talkgate {

namespace {

const std::vector<SettingInfo> kSettings = {
    {"ARI_URL", "http://ASTERISK_HOST:8088", "Asterisk's HTTP server (http or https)", false},
    {"ARI_USER", "(required)", "ARI user (ari.conf)", false},
    {"ARI_PASSWORD", "(required)", "ARI password", true},
    {"ARI_APP", "talkgate", "Stasis application name; must match the dialplan", false},
    {"ARI_CA_FILE", "", "CA bundle for an https ARI_URL", false},
    {"ARI_INSECURE", "false", "skip TLS certificate checks for ARI (logs a warning)", false},
    {"ASTERISK_HOST", "127.0.0.1", "Asterisk host (AMI, and ARI when ARI_URL is unset)", false},
    {"ASTERISK_AMI_PORT", "5038", "AMI port", false},
    {"ASTERISK_AMI_USER", "(required)", "AMI user (manager.conf)", false},
    {"ASTERISK_AMI_SECRET", "(required)", "AMI secret", true},
    {"BRIDGE_API_URL", "",
     "agent bridge API base URL; may contain {dn} and {contact_host}; empty: off", false},
    {"BRIDGE_API_CONTACT_ALLOW", "",
     "where {contact_host} may point: CIDRs and host names, comma separated; required with "
     "{contact_host}",
     false},
    {"BRIDGE_API_CA_FILE", "", "CA bundle for an https bridge API", false},
    {"BRIDGE_API_INSECURE", "false",
     "skip TLS certificate checks for the bridge API (logs a warning)", false},
    {"BRIDGE_API_TIMEOUT_MS", "2000", "deadline of one bridge API request", false},
    {"BRIDGE_API_RETRIES", "2", "retries on connect errors and 5xx", false},
    {"GENESYS_SIP_HOST", "",
     "Genesys SIP Server addresses, comma separated; NOTIFYs from others are rejected", false},
    {"HEP_LISTEN", "127.0.0.1:9060",
     "where the HEP listener binds (Asterisk's hep.conf capture_address)", false},
    {"HEP_PASSWORD", "", "HEP capture password (hep.conf capture_password); empty: none", true},
    {"HEP_FORWARD", "",
     "pass every HEP datagram on unchanged to these IP:port targets (Homer), comma separated; "
     "empty: none",
     false},
    {"NOTIFY_SOURCES", "hep,ami", "where NOTIFYs come from: any of hep, ami, ari", false},
    {"STATUS_LISTEN", "127.0.0.1:8090", "where the status API binds", false},
    {"STATUS_TOKEN", "",
     "bearer token for the status API, at least 24 characters; empty: only /health is served",
     true},
    {"AGENT_ENDPOINT_TEMPLATE", "PJSIP/{dn}", "the agent's endpoint, {dn} replaced", false},
    {"ANSWER_POLICY", "notify", "notify, immediate or off", false},
    {"ANSWER_POLICY_OVERRIDES", "", "per DN, e.g. 1002=immediate,1003=off", false},
    {"AGENT_RING_TIMEOUT_S", "30", "seconds an agent may ring before Genesys gets 408", false},
    {"GENESYS_CONTEXT", "from-genesys",
     "dialplan context of the Genesys endpoint (pjsip.conf context); a channel in it is a "
     "Genesys leg when talkgate adopts calls after a restart",
     false},
    {"CALL_TRACE_STEPS", "64",
     "steps of its ladder each call keeps for GET /calls/{id}/trace (0 to 1000; 0: none)", false},
    {"RECENT_CALLS", "200",
     "ended calls kept, with their trace, for GET /calls/recent (0 to 10000)", false},
    {"LOG_LEVEL", "info", "trace, debug, info, warn, error", false},
    {"REDIS_URL", "",
     "redis://[[user]:password@]host[:port][/db]: active/standby with another talkgate on the "
     "same gateway; empty: this process alone",
     true},
    {"GATEWAY_ID", "ARI_URL's host:port",
     "names the gateway in Redis: the lease talkgate:lease:{<ARI_APP>@<GATEWAY_ID>}", false},
    {"LEASE_TTL_MS", "3000",
     "the lease's expiry (renewed every third of it): a standby takes over at most this long "
     "after the active died",
     false},
};

std::string trim(const std::string& s) {
    auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return {};
    auto e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

std::vector<std::string> split_list(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, ',')) {
        item = trim(item);
        if (!item.empty()) out.push_back(item);
    }
    return out;
}

bool is_known(const std::string& key) {
    return std::any_of(kSettings.begin(), kSettings.end(),
                       [&](const SettingInfo& s) { return key == s.key; });
}

// Collects one line per problem while reading typed values.
class Reader {
  public:
    Reader(const Settings& s, std::vector<std::string>& errors) : s_(s), errors_(errors) {}

    std::optional<std::string> raw(const char* key) const {
        auto it = s_.find(key);
        if (it == s_.end()) return std::nullopt;
        return it->second;
    }

    void text(const char* key, std::string& out) const {
        if (auto v = raw(key)) out = *v;
    }

    void required(const char* key, std::string& out) const {
        text(key, out);
        if (out.empty()) errors_.push_back(std::string(key) + ": required, but not set");
    }

    void boolean(const char* key, bool& out) const {
        auto v = raw(key);
        if (!v || v->empty()) return;
        auto l = lower(*v);
        if (l == "1" || l == "true" || l == "yes" || l == "on") {
            out = true;
        } else if (l == "0" || l == "false" || l == "no" || l == "off") {
            out = false;
        } else {
            errors_.push_back(std::string(key) + ": '" + *v + "' is not a boolean (true/false)");
        }
    }

    template <class Int>
    void integer(const char* key, Int& out, long min, long max) const {
        auto v = raw(key);
        if (!v || v->empty()) return;
        char* end = nullptr;
        errno = 0;
        long n = std::strtol(v->c_str(), &end, 10);
        if (errno != 0 || end == v->c_str() || *end != '\0' || n < min || n > max) {
            errors_.push_back(std::string(key) + ": '" + *v + "' is not a whole number from " +
                              std::to_string(min) + " to " + std::to_string(max));
            return;
        }
        out = static_cast<Int>(n);
    }

    void listen(const char* key, ListenAddress& out) const {
        auto v = raw(key);
        if (!v || v->empty()) return;
        auto colon = v->rfind(':');
        if (colon == std::string::npos || colon == 0) {
            errors_.push_back(std::string(key) + ": '" + *v + "' is not HOST:PORT");
            return;
        }
        std::string host = v->substr(0, colon);
        if (host.size() > 2 && host.front() == '[' && host.back() == ']')
            host = host.substr(1, host.size() - 2);
        Settings one{{key, v->substr(colon + 1)}};
        std::vector<std::string> errs;
        unsigned short port = 0;
        Reader(one, errs).integer(key, port, 1, 65535);
        if (!errs.empty()) {
            errors_.push_back(std::string(key) + ": '" + *v + "' has no valid port (1-65535)");
            return;
        }
        out = {host, port};
    }

    std::optional<AnswerPolicy> policy(const std::string& key, const std::string& v) const {
        auto l = lower(trim(v));
        if (l == "notify") return AnswerPolicy::notify;
        if (l == "immediate") return AnswerPolicy::immediate;
        if (l == "off") return AnswerPolicy::off;
        errors_.push_back(key + ": '" + v + "' is not one of notify, immediate, off");
        return std::nullopt;
    }

    void error(std::string line) const { errors_.push_back(std::move(line)); }

  private:
    const Settings& s_;
    std::vector<std::string>& errors_;
};

bool valid_url(const std::string& url) {
    auto l = lower(url);
    return (l.rfind("http://", 0) == 0 || l.rfind("https://", 0) == 0) && url.size() > 8;
}

}  // namespace

AnswerPolicy Config::policy_for(const std::string& dn) const {
    auto it = answer_policy_per_dn.find(dn);
    return it == answer_policy_per_dn.end() ? answer_policy : it->second;
}

const char* to_string(AnswerPolicy policy) {
    switch (policy) {
        case AnswerPolicy::notify:
            return "notify";
        case AnswerPolicy::immediate:
            return "immediate";
        case AnswerPolicy::off:
            return "off";
    }
    return "?";
}

const std::vector<SettingInfo>& setting_infos() {
    return kSettings;
}

Settings settings_from_environment() {
    Settings s;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        std::string kv(*e);
        auto eq = kv.find('=');
        if (eq == std::string::npos) continue;
        std::string key = kv.substr(0, eq);
        if (is_known(key)) s[key] = kv.substr(eq + 1);
    }
    return s;
}

Settings settings_from_file(const std::string& path, std::vector<std::string>& errors) {
    Settings s;
    std::ifstream in(path);
    if (!in) {
        errors.push_back("config file '" + path + "': cannot be read");
        return s;
    }
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        line = trim(line);
        if (line.empty() || line[0] == '#') continue;
        if (line.rfind("export ", 0) == 0) line = trim(line.substr(7));
        auto eq = line.find('=');
        const std::string where = path + ":" + std::to_string(number);
        if (eq == std::string::npos) {
            errors.push_back(where + ": expected KEY=VALUE");
            continue;
        }
        std::string key = trim(line.substr(0, eq));
        std::string value = trim(line.substr(eq + 1));
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
            value.back() == value.front())
            value = value.substr(1, value.size() - 2);
        if (!is_known(key)) {
            errors.push_back(where + ": unknown setting '" + key + "'");
            continue;
        }
        s[key] = value;
    }
    return s;
}

ConfigResult load_config(const Settings& settings) {
    ConfigResult result;
    Config c;
    Reader r(settings, result.errors);

    r.text("ASTERISK_HOST", c.asterisk_host);
    if (c.asterisk_host.empty()) r.error("ASTERISK_HOST: must not be empty");
    r.integer("ASTERISK_AMI_PORT", c.ami_port, 1, 65535);
    r.required("ASTERISK_AMI_USER", c.ami_user);
    r.required("ASTERISK_AMI_SECRET", c.ami_secret);

    c.ari_url = "http://" + c.asterisk_host + ":8088";
    r.text("ARI_URL", c.ari_url);
    if (c.ari_url.empty()) c.ari_url = "http://" + c.asterisk_host + ":8088";
    while (!c.ari_url.empty() && c.ari_url.back() == '/') c.ari_url.pop_back();
    if (!valid_url(c.ari_url))
        r.error("ARI_URL: '" + url_without_credentials(c.ari_url) + "' is not an http(s) URL");
    r.required("ARI_USER", c.ari_user);
    r.required("ARI_PASSWORD", c.ari_password);
    r.text("ARI_APP", c.ari_app);
    if (c.ari_app.empty()) r.error("ARI_APP: must not be empty");
    r.text("ARI_CA_FILE", c.ari_ca_file);
    r.boolean("ARI_INSECURE", c.ari_insecure);

    r.text("BRIDGE_API_URL", c.bridge_api_url);
    while (!c.bridge_api_url.empty() && c.bridge_api_url.back() == '/') c.bridge_api_url.pop_back();
    if (!c.bridge_api_url.empty() && !valid_url(c.bridge_api_url))
        r.error("BRIDGE_API_URL: '" + url_without_credentials(c.bridge_api_url) +
                "' is not an http(s) URL");
    if (auto v = r.raw("BRIDGE_API_CONTACT_ALLOW")) c.bridge_api_contact_allow = split_list(*v);
    wire::HostAllowList allow;
    std::string allow_error;
    if (!allow.parse(c.bridge_api_contact_allow, allow_error))
        r.error("BRIDGE_API_CONTACT_ALLOW: " + allow_error);
    else if (c.bridge_api_url.find("{contact_host}") != std::string::npos && allow.empty())
        r.error(
            "BRIDGE_API_CONTACT_ALLOW: required when BRIDGE_API_URL has {contact_host} (the "
            "networks where agents' desktops may run, e.g. 10.20.0.0/16)");
    r.text("BRIDGE_API_CA_FILE", c.bridge_api_ca_file);
    r.boolean("BRIDGE_API_INSECURE", c.bridge_api_insecure);
    long timeout_ms = c.bridge_api_timeout.count();
    r.integer("BRIDGE_API_TIMEOUT_MS", timeout_ms, 50, 60000);
    c.bridge_api_timeout = std::chrono::milliseconds(timeout_ms);
    r.integer("BRIDGE_API_RETRIES", c.bridge_api_retries, 0, 10);

    if (auto v = r.raw("GENESYS_SIP_HOST")) c.genesys_sip_hosts = split_list(*v);
    r.listen("HEP_LISTEN", c.hep_listen);
    r.text("HEP_PASSWORD", c.hep_password);
    if (auto v = r.raw("HEP_FORWARD")) {
        for (const auto& item : split_list(*v)) {
            ListenAddress target;
            std::vector<std::string> errs;
            Reader({{"HEP_FORWARD", item}}, errs).listen("HEP_FORWARD", target);
            unsigned char ip[16];
            if (!errs.empty() || (inet_pton(AF_INET, target.host.c_str(), ip) != 1 &&
                                  inet_pton(AF_INET6, target.host.c_str(), ip) != 1)) {
                r.error("HEP_FORWARD: '" + wire::escaped(item, 80) +
                        "' is not IP:PORT (an IPv4 address, or [IPv6], and a port)");
                continue;
            }
            c.hep_forward.push_back(target);
        }
        if (c.hep_forward.size() > 8) r.error("HEP_FORWARD: at most 8 targets");
    }
    if (auto v = r.raw("NOTIFY_SOURCES")) {
        NotifySources src{false, false, false};
        auto items = split_list(*v);
        for (const auto& item : items) {
            auto l = lower(item);
            if (l == "hep")
                src.hep = true;
            else if (l == "ami")
                src.ami = true;
            else if (l == "ari")
                src.ari = true;
            else
                r.error("NOTIFY_SOURCES: '" + item + "' is not one of hep, ami, ari");
        }
        if (items.empty()) r.error("NOTIFY_SOURCES: name at least one of hep, ami, ari");
        c.notify_sources = src;
    }
    if (c.notify_sources.hep && c.genesys_sip_hosts.empty())
        r.error(
            "GENESYS_SIP_HOST: required when NOTIFY_SOURCES has hep (NOTIFYs from other hosts are "
            "rejected)");

    r.listen("STATUS_LISTEN", c.status_listen);
    r.text("STATUS_TOKEN", c.status_token);
    if (c.status_token.find("CHANGE_ME") != std::string::npos)
        r.error("STATUS_TOKEN: still the CHANGE_ME placeholder; set a random token");
    else if (!c.status_token.empty() && c.status_token.size() < kMinStatusTokenLength)
        r.error("STATUS_TOKEN: " + std::to_string(c.status_token.size()) +
                " characters; a token needs at least " + std::to_string(kMinStatusTokenLength) +
                " (e.g. head -c 32 /dev/urandom | base64)");

    r.text("AGENT_ENDPOINT_TEMPLATE", c.agent_endpoint_template);
    if (c.agent_endpoint_template.find("{dn}") == std::string::npos)
        r.error("AGENT_ENDPOINT_TEMPLATE: '" + c.agent_endpoint_template + "' has no {dn}");
    if (auto v = r.raw("ANSWER_POLICY"); v && !v->empty()) {
        if (auto p = r.policy("ANSWER_POLICY", *v)) c.answer_policy = *p;
    }
    if (auto v = r.raw("ANSWER_POLICY_OVERRIDES")) {
        for (const auto& item : split_list(*v)) {
            auto eq = item.find('=');
            if (eq == std::string::npos || eq == 0) {
                r.error("ANSWER_POLICY_OVERRIDES: '" + item + "' is not DN=POLICY");
                continue;
            }
            if (auto p = r.policy("ANSWER_POLICY_OVERRIDES", item.substr(eq + 1)))
                c.answer_policy_per_dn[trim(item.substr(0, eq))] = *p;
        }
    }
    long ring = c.agent_ring_timeout.count();
    r.integer("AGENT_RING_TIMEOUT_S", ring, 1, 600);
    c.agent_ring_timeout = std::chrono::seconds(ring);
    r.text("GENESYS_CONTEXT", c.genesys_context);
    if (!wire::is_token(c.genesys_context, 79))
        r.error("GENESYS_CONTEXT: '" + wire::escaped(c.genesys_context, 80) +
                "' is not a dialplan context name (1 to 79 visible ASCII characters)");

    r.integer("CALL_TRACE_STEPS", c.call_trace_steps, 0, 1000);
    r.integer("RECENT_CALLS", c.recent_calls, 0, 10000);

    r.text("REDIS_URL", c.redis_url);
    if (!c.redis_url.empty()) {
        std::string redis_error;
        if (!ha::parse_redis_url(c.redis_url, redis_error)) r.error("REDIS_URL: " + redis_error);
    }
    r.text("GATEWAY_ID", c.gateway_id);
    if (c.gateway_id.empty()) {
        const auto authority = c.ari_url.find("://");
        std::string host =
            authority == std::string::npos ? c.ari_url : c.ari_url.substr(authority + 3);
        host = host.substr(0, host.find_first_of("/?#"));
        if (auto at = host.rfind('@'); at != std::string::npos) host = host.substr(at + 1);
        c.gateway_id = host;
    }
    if (!wire::is_token(c.gateway_id, 200))
        r.error("GATEWAY_ID: '" + wire::escaped(c.gateway_id, 80) +
                "' is not 1 to 200 visible ASCII characters");
    long lease_ms = c.lease_ttl.count();
    r.integer("LEASE_TTL_MS", lease_ms, 600, 60000);
    c.lease_ttl = std::chrono::milliseconds(lease_ms);

    r.text("LOG_LEVEL", c.log_level);
    c.log_level = lower(c.log_level);
    static const std::vector<std::string> levels = {"trace",   "debug", "info",     "warn",
                                                    "warning", "error", "critical", "off"};
    if (std::find(levels.begin(), levels.end(), c.log_level) == levels.end())
        r.error("LOG_LEVEL: '" + c.log_level + "' is not one of trace, debug, info, warn, error");

    if (result.errors.empty()) result.config = std::move(c);
    return result;
}

std::string describe(const Config& c) {
    auto secret = [](const std::string& s) { return s.empty() ? std::string() : "********"; };
    auto yes = [](bool b) { return b ? "true" : "false"; };
    std::string sources;
    for (auto [on, name] :
         {std::pair{c.notify_sources.hep, "hep"}, std::pair{c.notify_sources.ami, "ami"},
          std::pair{c.notify_sources.ari, "ari"}}) {
        if (on) sources += (sources.empty() ? "" : ",") + std::string(name);
    }
    std::string hosts, overrides;
    for (const auto& h : c.genesys_sip_hosts) hosts += (hosts.empty() ? "" : ",") + h;
    std::string forward;
    for (const auto& f : c.hep_forward)
        forward += (forward.empty() ? "" : ",") +
                   (f.host.find(':') != std::string::npos ? "[" + f.host + "]" : f.host) + ":" +
                   std::to_string(f.port);
    std::string allow;
    for (const auto& a : c.bridge_api_contact_allow) allow += (allow.empty() ? "" : ",") + a;
    for (const auto& [dn, p] : c.answer_policy_per_dn)
        overrides += (overrides.empty() ? "" : ",") + dn + "=" + to_string(p);
    std::string redis_text;
    std::string redis_error;
    if (auto ep =
            c.redis_url.empty() ? std::nullopt : ha::parse_redis_url(c.redis_url, redis_error))
        redis_text =
            "redis://" + std::string(ep->password.empty() ? "" : "***@") + ha::describe(*ep);
    std::ostringstream out;
    out << "ARI_URL=" << url_without_credentials(c.ari_url) << "\nARI_USER=" << c.ari_user
        << "\nARI_PASSWORD=" << secret(c.ari_password) << "\nARI_APP=" << c.ari_app
        << "\nARI_CA_FILE=" << c.ari_ca_file << "\nARI_INSECURE=" << yes(c.ari_insecure)
        << "\nASTERISK_HOST=" << c.asterisk_host << "\nASTERISK_AMI_PORT=" << c.ami_port
        << "\nASTERISK_AMI_USER=" << c.ami_user << "\nASTERISK_AMI_SECRET=" << secret(c.ami_secret)
        << "\nBRIDGE_API_URL=" << url_without_credentials(c.bridge_api_url)
        << "\nBRIDGE_API_CONTACT_ALLOW=" << allow << "\nBRIDGE_API_CA_FILE=" << c.bridge_api_ca_file
        << "\nBRIDGE_API_INSECURE=" << yes(c.bridge_api_insecure)
        << "\nBRIDGE_API_TIMEOUT_MS=" << c.bridge_api_timeout.count()
        << "\nBRIDGE_API_RETRIES=" << c.bridge_api_retries << "\nGENESYS_SIP_HOST=" << hosts
        << "\nHEP_LISTEN=" << c.hep_listen.host << ":" << c.hep_listen.port
        << "\nHEP_PASSWORD=" << secret(c.hep_password) << "\nHEP_FORWARD=" << forward
        << "\nNOTIFY_SOURCES=" << sources << "\nSTATUS_LISTEN=" << c.status_listen.host << ":"
        << c.status_listen.port << "\nSTATUS_TOKEN=" << secret(c.status_token)
        << "\nAGENT_ENDPOINT_TEMPLATE=" << c.agent_endpoint_template
        << "\nANSWER_POLICY=" << to_string(c.answer_policy)
        << "\nANSWER_POLICY_OVERRIDES=" << overrides
        << "\nAGENT_RING_TIMEOUT_S=" << c.agent_ring_timeout.count()
        << "\nGENESYS_CONTEXT=" << c.genesys_context << "\nCALL_TRACE_STEPS=" << c.call_trace_steps
        << "\nRECENT_CALLS=" << c.recent_calls << "\nLOG_LEVEL=" << c.log_level
        << "\nREDIS_URL=" << redis_text << "\nGATEWAY_ID=" << c.gateway_id
        << "\nLEASE_TTL_MS=" << c.lease_ttl.count() << "\n";
    return out.str();
}

std::string url_without_credentials(const std::string& url) {
    const auto scheme = url.find("://");
    const auto authority = scheme == std::string::npos ? 0 : scheme + 3;
    const auto end = url.find_first_of("/?#", authority);
    const auto at = url.rfind('@', end == std::string::npos ? std::string::npos : end);
    if (at == std::string::npos || at < authority) return url;
    return url.substr(0, authority) + "***" + url.substr(at);
}

}  // namespace talkgate
