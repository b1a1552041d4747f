// Configuration: defaults, one clear line per problem, files, and secrets never echoed.
#include "config/config.hpp"
#include "wire/cidr.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace talkgate {
namespace {

Settings minimal() {
    return {{"ARI_USER", "ari"},
            {"ARI_PASSWORD", "pw-ari-9"},
            {"ASTERISK_AMI_USER", "ami"},
            {"ASTERISK_AMI_SECRET", "pw-ami-7"},
            {"GENESYS_SIP_HOST", "10.0.0.5"}};
}

TEST(Config, MinimalSettingsGiveTheDocumentedDefaults) {
    auto r = load_config(minimal());
    ASSERT_TRUE(r.config) << (r.errors.empty() ? "" : r.errors.front());
    const Config& c = *r.config;
    EXPECT_EQ(c.ari_url, "http://127.0.0.1:8088");
    EXPECT_EQ(c.ari_app, "talkgate");
    EXPECT_EQ(c.ami_port, 5038);
    EXPECT_EQ(c.hep_listen.host, "127.0.0.1");
    EXPECT_EQ(c.hep_listen.port, 9060);
    EXPECT_EQ(c.status_listen.port, 8090);
    EXPECT_TRUE(c.notify_sources.hep);
    EXPECT_TRUE(c.notify_sources.ami);
    EXPECT_FALSE(c.notify_sources.ari);
    EXPECT_EQ(c.answer_policy, AnswerPolicy::notify);
    EXPECT_EQ(c.agent_endpoint_template, "PJSIP/{dn}");
    EXPECT_TRUE(c.bridge_api_url.empty());
    EXPECT_EQ(c.genesys_context, "from-genesys");
}

TEST(Config, TraceStepsAndRecentCallsAreBounded) {
    auto s = minimal();
    auto r = load_config(s);
    ASSERT_TRUE(r.config);
    EXPECT_EQ(r.config->call_trace_steps, 64u);
    EXPECT_EQ(r.config->recent_calls, 200u);
    s["CALL_TRACE_STEPS"] = "0";
    s["RECENT_CALLS"] = "10000";
    r = load_config(s);
    ASSERT_TRUE(r.config) << r.errors.front();
    EXPECT_EQ(r.config->call_trace_steps, 0u);
    EXPECT_NE(describe(*r.config).find("\nRECENT_CALLS=10000\n"), std::string::npos);
    for (auto [key, bad] : {std::pair{"CALL_TRACE_STEPS", "1001"}, std::pair{"RECENT_CALLS", "-1"},
                            std::pair{"RECENT_CALLS", "lots"}}) {
        auto b = minimal();
        b[key] = bad;
        r = load_config(b);
        ASSERT_FALSE(r.config) << key << "=" << bad;
        EXPECT_EQ(r.errors[0].rfind(std::string(key) + ": ", 0), 0u) << r.errors[0];
    }
}

TEST(Config, HepForwardTakesIpPortTargets) {
    auto s = minimal();
    s["HEP_FORWARD"] = "127.0.0.1:9060, [::1]:9061";
    auto r = load_config(s);
    ASSERT_TRUE(r.config) << r.errors.front();
    ASSERT_EQ(r.config->hep_forward.size(), 2u);
    EXPECT_EQ(r.config->hep_forward[1].host, "::1");
    EXPECT_EQ(r.config->hep_forward[1].port, 9061);
    EXPECT_NE(describe(*r.config).find("\nHEP_FORWARD=127.0.0.1:9060,[::1]:9061\n"),
              std::string::npos);
    for (const char* bad : {"homer:9060", "127.0.0.1", "127.0.0.1:0", "1.2.3.4:9060,x"}) {
        s["HEP_FORWARD"] = bad;
        r = load_config(s);
        ASSERT_FALSE(r.config) << bad;
        EXPECT_EQ(r.errors[0].rfind("HEP_FORWARD: ", 0), 0u) << r.errors[0];
    }
}

TEST(Config, GenesysContextIsADialplanContextName) {
    auto s = minimal();
    s["GENESYS_CONTEXT"] = "from-sbc";
    auto r = load_config(s);
    ASSERT_TRUE(r.config) << r.errors.front();
    EXPECT_EQ(r.config->genesys_context, "from-sbc");
    EXPECT_NE(describe(*r.config).find("\nGENESYS_CONTEXT=from-sbc\n"), std::string::npos);
    for (const char* bad : {"from sbc", "a\nb"}) {
        s["GENESYS_CONTEXT"] = bad;
        r = load_config(s);
        ASSERT_FALSE(r.config) << bad;
        ASSERT_EQ(r.errors.size(), 1u);
        EXPECT_EQ(r.errors[0].rfind("GENESYS_CONTEXT: ", 0), 0u) << r.errors[0];
    }
}

TEST(Config, ContactHostInTheBridgeUrlNeedsAnAllowList) {
    auto s = minimal();
    s["BRIDGE_API_URL"] = "https://{contact_host}:8000";
    auto r = load_config(s);
    ASSERT_FALSE(r.config);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_NE(r.errors[0].find("BRIDGE_API_CONTACT_ALLOW: required"), std::string::npos);

    s["BRIDGE_API_CONTACT_ALLOW"] = "10.20.0.0/16, fd00::/8 ,desk-1.example.test";
    r = load_config(s);
    ASSERT_TRUE(r.config) << r.errors.front();
    EXPECT_EQ(r.config->bridge_api_contact_allow,
              (std::vector<std::string>{"10.20.0.0/16", "fd00::/8", "desk-1.example.test"}));
    EXPECT_NE(describe(*r.config).find("BRIDGE_API_CONTACT_ALLOW=10.20.0.0/16,fd00::/8,desk-1"),
              std::string::npos);
}

TEST(Config, BadContactAllowEntriesAreOneLineEach) {
    for (const char* bad : {"10.0.0.0/33", "10.0.0/8", "::1/129", "10.0.0.0/", "a/b", "bad host",
                            "10.0.0.0/8x", "-"}) {
        auto s = minimal();
        s["BRIDGE_API_CONTACT_ALLOW"] = std::string("127.0.0.0/8,") + bad;
        auto r = load_config(s);
        EXPECT_FALSE(r.config) << bad;
        ASSERT_EQ(r.errors.size(), 1u) << bad;
        EXPECT_NE(r.errors[0].find("BRIDGE_API_CONTACT_ALLOW"), std::string::npos) << bad;
    }
}

TEST(HostAllowList, MatchesCidrsAndExactHostNames) {
    wire::HostAllowList allow;
    std::string error;
    ASSERT_TRUE(allow.parse({"10.20.0.0/16", "192.0.2.7", "fd00::/8", "0.0.0.0/0x"}, error) ==
                false);
    ASSERT_TRUE(
        allow.parse({"10.20.0.0/16", "192.0.2.7", "fd00::/8", "Desk-1.example.test"}, error))
        << error;
    EXPECT_TRUE(allow.allows("10.20.0.1"));
    EXPECT_TRUE(allow.allows("10.20.255.255"));
    EXPECT_FALSE(allow.allows("10.21.0.1"));
    EXPECT_TRUE(allow.allows("192.0.2.7"));
    EXPECT_FALSE(allow.allows("192.0.2.8"));
    EXPECT_TRUE(allow.allows("fd12::5"));
    EXPECT_TRUE(allow.allows("[fd12::5]"));
    EXPECT_FALSE(allow.allows("fe80::1"));
    EXPECT_FALSE(allow.allows("::ffff:10.20.0.1")) << "no family mixing";
    EXPECT_TRUE(allow.allows("desk-1.EXAMPLE.test"));
    EXPECT_FALSE(allow.allows("desk-2.example.test"));
    EXPECT_FALSE(allow.allows("10.20.0.1/evil"));
    EXPECT_FALSE(allow.allows("10.20.0.1@attacker"));
    EXPECT_FALSE(allow.allows(""));
}

TEST(HostAllowList, PrefixBoundariesAreExact) {
    wire::HostAllowList allow;
    std::string error;
    ASSERT_TRUE(allow.parse({"172.16.0.0/12", "0.0.0.0/0"}, error)) << error;
    EXPECT_TRUE(allow.allows("198.51.100.9")) << "/0 takes every IPv4 address";
    ASSERT_TRUE(allow.parse({"172.16.0.0/12"}, error));
    EXPECT_TRUE(allow.allows("172.31.255.255"));
    EXPECT_FALSE(allow.allows("172.32.0.0"));
    EXPECT_FALSE(allow.allows("172.15.255.255"));
    ASSERT_TRUE(allow.parse({"10.1.2.128/25"}, error));
    EXPECT_TRUE(allow.allows("10.1.2.200"));
    EXPECT_FALSE(allow.allows("10.1.2.127"));
}

TEST(Config, EveryMissingRequiredSettingIsOneLine) {
    auto r = load_config({});
    EXPECT_FALSE(r.config);
    auto has = [&](const std::string& key) {
        for (const auto& e : r.errors)
            if (e.rfind(key + ":", 0) == 0) return true;
        return false;
    };
    EXPECT_TRUE(has("ARI_USER"));
    EXPECT_TRUE(has("ARI_PASSWORD"));
    EXPECT_TRUE(has("ASTERISK_AMI_USER"));
    EXPECT_TRUE(has("ASTERISK_AMI_SECRET"));
    EXPECT_TRUE(has("GENESYS_SIP_HOST"));
    EXPECT_EQ(r.errors.size(), 5u);
}

TEST(Config, BadValuesAreNamed) {
    auto s = minimal();
    s["ASTERISK_AMI_PORT"] = "70000";
    s["HEP_LISTEN"] = "nowhere";
    s["NOTIFY_SOURCES"] = "hep,pcap";
    s["ANSWER_POLICY"] = "sometimes";
    s["ANSWER_POLICY_OVERRIDES"] = "1002=immediate,1003";
    s["BRIDGE_API_URL"] = "ftp://x";
    s["BRIDGE_API_INSECURE"] = "maybe";
    s["AGENT_ENDPOINT_TEMPLATE"] = "PJSIP/agent";
    s["LOG_LEVEL"] = "loud";
    auto r = load_config(s);
    EXPECT_FALSE(r.config);
    EXPECT_EQ(r.errors.size(), 9u);
    for (const auto& e : r.errors) EXPECT_EQ(e.find('\n'), std::string::npos) << e;
}

TEST(Config, PoliciesPerDnAndSources) {
    auto s = minimal();
    s["ANSWER_POLICY"] = "OFF";
    s["ANSWER_POLICY_OVERRIDES"] = "1002=immediate, 1003=notify";
    s["NOTIFY_SOURCES"] = "ami,ari";
    s["GENESYS_SIP_HOST"] = "";
    auto r = load_config(s);
    ASSERT_TRUE(r.config) << r.errors.front();
    EXPECT_EQ(r.config->policy_for("1002"), AnswerPolicy::immediate);
    EXPECT_EQ(r.config->policy_for("1003"), AnswerPolicy::notify);
    EXPECT_EQ(r.config->policy_for("1004"), AnswerPolicy::off);
    EXPECT_FALSE(r.config->notify_sources.hep);  // so GENESYS_SIP_HOST may be empty
}

TEST(Config, FileLinesWithCommentsQuotesAndErrors) {
    const std::string path = ::testing::TempDir() + "/talkgate-config-test.env";
    {
        std::ofstream f(path);
        f << "# talkgate\nexport ARI_USER=ari\nARI_PASSWORD=\"pw with spaces\"\n"
             "ASTERISK_AMI_USER='ami'\nnot a setting line\nUNKNOWN_KEY=1\n";
    }
    std::vector<std::string> errors;
    auto s = settings_from_file(path, errors);
    EXPECT_EQ(s["ARI_USER"], "ari");
    EXPECT_EQ(s["ARI_PASSWORD"], "pw with spaces");
    EXPECT_EQ(s["ASTERISK_AMI_USER"], "ami");
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_NE(errors[0].find(":5: expected KEY=VALUE"), std::string::npos) << errors[0];
    EXPECT_NE(errors[1].find("unknown setting 'UNKNOWN_KEY'"), std::string::npos) << errors[1];
    std::remove(path.c_str());
    errors.clear();
    settings_from_file(path, errors);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].find("cannot be read"), std::string::npos);
}

TEST(Config, DescribeMasksEverySecret) {
    auto s = minimal();
    s["STATUS_TOKEN"] = "tok-5551-long-enough-for-a-token";
    s["HEP_PASSWORD"] = "hep-4442";
    auto r = load_config(s);
    ASSERT_TRUE(r.config);
    auto text = describe(*r.config);
    for (const char* secret :
         {"pw-ari-9", "pw-ami-7", "tok-5551-long-enough-for-a-token", "hep-4442"})
        EXPECT_EQ(text.find(secret), std::string::npos) << secret;
    EXPECT_NE(text.find("ARI_PASSWORD=********"), std::string::npos);
    EXPECT_NE(text.find("ARI_USER=ari"), std::string::npos);
}

TEST(Config, StatusTokenMustNotBeThePlaceholderOrShort) {
    auto s = minimal();
    s["STATUS_TOKEN"] = "CHANGE_ME_long_random_status_token";
    auto r = load_config(s);
    ASSERT_FALSE(r.config);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_NE(r.errors[0].find("STATUS_TOKEN: still the CHANGE_ME placeholder"), std::string::npos)
        << r.errors[0];

    s["STATUS_TOKEN"] = std::string(kMinStatusTokenLength - 1, 'k');
    r = load_config(s);
    ASSERT_FALSE(r.config);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_NE(r.errors[0].find("STATUS_TOKEN: 23 characters"), std::string::npos) << r.errors[0];
    EXPECT_EQ(r.errors[0].find("kkkk"), std::string::npos) << "the refused token is not echoed";

    s["STATUS_TOKEN"] = std::string(kMinStatusTokenLength, 'k');
    EXPECT_TRUE(load_config(s).config);
    s["STATUS_TOKEN"] = "";
    EXPECT_TRUE(load_config(s).config) << "no token: only /health is served";
}

TEST(Config, UrlsAreShownWithoutCredentials) {
    EXPECT_EQ(url_without_credentials("http://u:p@10.0.0.1:8088"), "http://***@10.0.0.1:8088");
    EXPECT_EQ(url_without_credentials("https://user:pw%40x@h/a@b?c=@"), "https://***@h/a@b?c=@");
    EXPECT_EQ(url_without_credentials("http://h:1/{dn}?x=a@b"), "http://h:1/{dn}?x=a@b");
    EXPECT_EQ(url_without_credentials("http://h"), "http://h");
    EXPECT_EQ(url_without_credentials(""), "");

    auto s = minimal();
    s["ARI_URL"] = "http://ariuser:ari-url-secret@127.0.0.1:8088";
    s["BRIDGE_API_URL"] = "https://bridge:bridge-url-secret@10.0.0.5:8443/{dn}";
    auto r = load_config(s);
    ASSERT_TRUE(r.config);
    auto text = describe(*r.config);
    EXPECT_EQ(text.find("ari-url-secret"), std::string::npos) << text;
    EXPECT_EQ(text.find("bridge-url-secret"), std::string::npos) << text;
    EXPECT_NE(text.find("ARI_URL=http://***@127.0.0.1:8088"), std::string::npos) << text;
    EXPECT_NE(text.find("BRIDGE_API_URL=https://***@10.0.0.5:8443/{dn}"), std::string::npos)
        << text;

    s["ARI_URL"] = "ftp://ariuser:ari-url-secret@127.0.0.1";
    r = load_config(s);
    ASSERT_FALSE(r.config);
    for (const auto& e : r.errors) EXPECT_EQ(e.find("ari-url-secret"), std::string::npos) << e;
}

TEST(Config, EverySettingIsDocumented) {
    for (const auto& info : setting_infos()) {
        EXPECT_NE(std::string(info.meaning), "") << info.key;
    }
    EXPECT_GE(setting_infos().size(), 26u);
}

}  // namespace
}  // namespace talkgate
