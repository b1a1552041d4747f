#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace talkgate {

// How talkgate answers an agent's ringing leg.
enum class AnswerPolicy {
    notify,     // when Genesys sends NOTIFY talk (the default)
    immediate,  // as soon as the agent leg rings
    off,        // never by itself
};

// Where NOTIFYs come from (any combination).
struct NotifySources {
    bool hep = true;
    bool ami = true;
    bool ari = false;
};

// A host:port to listen on.
struct ListenAddress {
    std::string host;
    unsigned short port = 0;
};

// Every setting talkgate has. Loaded from the environment (names compatible with the existing
// deployment) and optionally from a KEY=VALUE file with the same keys; the environment wins.
struct Config {
    std::string ari_url;       // ARI_URL, default http://ASTERISK_HOST:8088
    std::string ari_user;      // ARI_USER
    std::string ari_password;  // ARI_PASSWORD (secret)
    std::string ari_app = "talkgate";
    std::string ari_ca_file;
    bool ari_insecure = false;

    std::string asterisk_host = "127.0.0.1";
    unsigned short ami_port = 5038;
    std::string ami_user;    // ASTERISK_AMI_USER
    std::string ami_secret;  // ASTERISK_AMI_SECRET (secret)

    std::string bridge_api_url;  // BRIDGE_API_URL; may hold {dn} and {contact_host}
    // BRIDGE_API_CONTACT_ALLOW: CIDRs and host names {contact_host} may be; checked at load.
    std::vector<std::string> bridge_api_contact_allow;
    std::string bridge_api_ca_file;
    bool bridge_api_insecure = false;
    std::chrono::milliseconds bridge_api_timeout{2000};
    int bridge_api_retries = 2;

    std::vector<std::string> genesys_sip_hosts;  // GENESYS_SIP_HOST, comma separated
    ListenAddress hep_listen{"127.0.0.1", 9060};
    std::string hep_password;                // secret
    std::vector<ListenAddress> hep_forward;  // HEP_FORWARD: IP:port targets, comma separated
    NotifySources notify_sources;

    ListenAddress status_listen{"127.0.0.1", 8090};
    std::string status_token;  // secret

    std::string agent_endpoint_template = "PJSIP/{dn}";
    AnswerPolicy answer_policy = AnswerPolicy::notify;
    std::map<std::string, AnswerPolicy> answer_policy_per_dn;  // ANSWER_POLICY_OVERRIDES
    std::chrono::seconds agent_ring_timeout{30};
    // GENESYS_CONTEXT: the dialplan context Genesys calls enter (pjsip.conf endpoint context);
    // after a restart a channel in it is a Genesys leg.
    std::string genesys_context = "from-genesys";

    std::size_t call_trace_steps = 64;  // CALL_TRACE_STEPS: steps kept per call; 0: no trace
    std::size_t recent_calls = 200;     // RECENT_CALLS: ended calls kept for /calls/recent

    std::string log_level = "info";

    // Active/standby on Redis (README, "Active and standby"); empty REDIS_URL: one process.
    std::string redis_url;                      // REDIS_URL (secret: may hold the password)
    std::string gateway_id;                     // GATEWAY_ID, default ARI_URL's host:port
    std::chrono::milliseconds lease_ttl{3000};  // LEASE_TTL_MS

    AnswerPolicy policy_for(const std::string& dn) const;
};

// The outcome of loading: a config, or one line per problem.
struct ConfigResult {
    std::optional<Config> config;
    std::vector<std::string> errors;
};

// Keys and values from the environment or a file, before validation.
using Settings = std::map<std::string, std::string>;

Settings settings_from_environment();
// Reads KEY=VALUE lines ('#' comments, optional quotes, optional 'export ').
// Problems (unreadable file, malformed lines) are appended to `errors`.
Settings settings_from_file(const std::string& path, std::vector<std::string>& errors);

ConfigResult load_config(const Settings& settings);

// Every key with its default and meaning, for --help and the README.
struct SettingInfo {
    const char* key;
    const char* default_value;
    const char* meaning;
    bool secret;
};
const std::vector<SettingInfo>& setting_infos();

// The effective configuration as KEY=VALUE lines, secrets masked.
std::string describe(const Config& config);

const char* to_string(AnswerPolicy policy);

// The URL as it may be logged: user:password@ in it becomes ***@.
std::string url_without_credentials(const std::string& url);

// The shortest STATUS_TOKEN accepted: a bearer token must not be guessable.
inline constexpr std::size_t kMinStatusTokenLength = 24;

}  // namespace talkgate
