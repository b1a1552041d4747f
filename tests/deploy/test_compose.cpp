#include "config/config.hpp"
#include "deploy_test_support.hpp"
#include "lab_env.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <sstream>

using namespace talkgate::test;
using nlohmann::json;

namespace {

// An env file with generated values for every key of .env.example.
std::map<std::string, std::string> generated_env() {
    std::map<std::string, std::string> env;
    std::istringstream in(read_file(source_path("deploy/.env.example")));
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        auto eq = line.find('=');
        std::string key = line.substr(0, eq);
        std::string value = line.substr(eq + 1);
        if (value.rfind("CHANGE_ME", 0) == 0) value = random_secret();
        env[key] = value;
    }
    env["GENESYS_SIP_HOST"] = "192.0.2.10";
    return env;
}

std::string env_text(const std::map<std::string, std::string>& env) {
    std::string out;
    for (const auto& [k, v] : env) out += k + "=" + v + "\n";
    return out;
}

// docker-compose with the env file for interpolation and for env_file.
CommandResult compose(const std::string& env_file, const std::string& args) {
    return run_command("cd " + sh_quote(source_path(".")) +
                           " && TALKGATE_ENV_FILE=" + sh_quote(env_file) +
                           " docker-compose -f deploy/docker-compose.yml --env-file " +
                           sh_quote(env_file) + " " + args,
                       std::chrono::seconds(60));
}

// The rendered compose file as JSON (docker-compose 1.x prints YAML only).
json rendered(const std::string& env_file, const std::string& profile_args) {
    auto r = compose(env_file, profile_args + " config");
    if (r.exit_code != 0) throw std::runtime_error("docker-compose config failed: " + r.output);
    TempDir dir;
    write_file(dir.path() + "/c.yml", r.output);
    auto j = run_command(
        "python3 -c 'import sys, json, yaml; "
        "json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)' " +
            sh_quote(dir.path() + "/c.yml"),
        std::chrono::seconds(30));
    if (j.exit_code != 0) throw std::runtime_error("yaml to json failed: " + j.output);
    return json::parse(j.output);
}

class Compose : public ::testing::Test {
  protected:
    void SetUp() override {
        if (run_command("command -v docker-compose", std::chrono::seconds(5)).exit_code != 0) {
            FAIL() << "docker-compose is missing: scripts/install-deps.sh installs it";
        }
        env_ = generated_env();
        env_file_ = dir_.path() + "/test.env";
        write_file(env_file_, env_text(env_));
    }

    TempDir dir_;
    std::map<std::string, std::string> env_;
    std::string env_file_;
};

}  // namespace

TEST_F(Compose, ConfigIsValidWithAndWithoutTheObservabilityProfile) {
    auto quiet = compose(env_file_, "config -q");
    EXPECT_EQ(quiet.exit_code, 0) << quiet.output;
    auto all = compose(env_file_, "--profile observability config -q");
    EXPECT_EQ(all.exit_code, 0) << all.output;
    auto services = compose(env_file_, "--profile observability config --services");
    EXPECT_EQ(services.exit_code, 0) << services.output;
    for (const char* s : {"asterisk", "talkgate", "prometheus", "grafana"}) {
        EXPECT_NE(services.output.find(s), std::string::npos) << services.output;
    }
}

TEST_F(Compose, ServicesRunOnTheHostNetworkWithHealthChecksAndRestart) {
    json c = rendered(env_file_, "");
    ASSERT_TRUE(c["services"].contains("asterisk"));
    ASSERT_TRUE(c["services"].contains("talkgate"));
    // docker-compose 1.x lists profiled services too: they must carry the profile.
    for (const char* name : {"prometheus", "grafana"}) {
        EXPECT_EQ(c["services"][name]["profiles"], json::array({"observability"})) << name;
    }
    EXPECT_FALSE(c["services"]["talkgate"].contains("profiles"));
    EXPECT_FALSE(c["services"]["asterisk"].contains("profiles"));
    for (const char* name : {"asterisk", "talkgate"}) {
        SCOPED_TRACE(name);
        const json& s = c["services"][name];
        EXPECT_EQ(s["network_mode"], "host");
        EXPECT_EQ(s["restart"], "unless-stopped");
        EXPECT_TRUE(s.contains("healthcheck"));
        EXPECT_EQ(s["build"]["dockerfile"], std::string("deploy/") + name + "/Dockerfile");
        // The env file's generated values reach the container.
        EXPECT_EQ(s["environment"]["STATUS_TOKEN"], env_["STATUS_TOKEN"]);
        EXPECT_EQ(s["environment"]["ARI_PASSWORD"], env_["ARI_PASSWORD"]);
    }
    auto asterisk_check = c["services"]["asterisk"]["healthcheck"]["test"].dump();
    EXPECT_NE(asterisk_check.find("core waitfullybooted"), std::string::npos) << asterisk_check;
    auto talkgate_check = c["services"]["talkgate"]["healthcheck"]["test"].dump();
    EXPECT_NE(talkgate_check.find("/health"), std::string::npos) << talkgate_check;
    // $$ reaches the container as a literal $ for its shell.
    EXPECT_NE(talkgate_check.find("${STATUS_LISTEN:-127.0.0.1:8090}"), std::string::npos)
        << talkgate_check;
}

TEST_F(Compose, TalkgateTakesAriUrlFromTheEnvFileTalkgateEnvFileNames) {
    // The operator's env file lives elsewhere (TALKGATE_ENV_FILE) and compose interpolates
    // from an env file without ARI_URL: nothing in the compose file may replace its value.
    env_["ARI_URL"] = "http://127.0.0.1:18088";
    write_file(env_file_, env_text(env_));
    const std::string interpolation = dir_.path() + "/interpolation.env";
    write_file(interpolation, "GRAFANA_ADMIN_PASSWORD=" + random_secret() + "\n");
    auto r = run_command("cd " + sh_quote(source_path(".")) +
                             " && TALKGATE_ENV_FILE=" + sh_quote(env_file_) +
                             " docker-compose -f deploy/docker-compose.yml --env-file " +
                             sh_quote(interpolation) + " config",
                         std::chrono::seconds(60));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("ARI_URL: http://127.0.0.1:18088"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("ARI_URL: http://127.0.0.1:8088"), std::string::npos) << r.output;
}

TEST_F(Compose, PrometheusReceivesTheStatusTokenAndNoOtherSecret) {
    json c = rendered(env_file_, "--profile observability");
    const json& p = c["services"]["prometheus"];
    EXPECT_FALSE(p.contains("env_file"));
    ASSERT_TRUE(p.contains("environment")) << p.dump();
    EXPECT_EQ(p["environment"], json({{"STATUS_TOKEN", env_["STATUS_TOKEN"]}}));
    const std::string text = p.dump();
    for (const char* secret : {"ARI_PASSWORD", "ASTERISK_AMI_SECRET", "HEP_PASSWORD"}) {
        if (env_[secret].empty()) continue;
        EXPECT_EQ(text.find(env_[secret]), std::string::npos) << secret;
    }
}

TEST_F(Compose, GrafanaHasNoDefaultPassword) {
    auto env = env_;
    env.erase("GRAFANA_ADMIN_PASSWORD");
    write_file(env_file_, env_text(env));
    auto r = compose(env_file_, "--profile observability config -q");
    EXPECT_NE(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("GRAFANA_ADMIN_PASSWORD"), std::string::npos) << r.output;
}

TEST(EnvExamples, HoldPlaceholdersOnlyAndEveryTalkgateSetting) {
    for (const char* file : {"deploy/.env.example", "deploy/systemd/talkgate.env.example"}) {
        SCOPED_TRACE(file);
        std::string text = read_file(source_path(file));
        EXPECT_EQ(text.find("admin123"), std::string::npos);
        for (const auto& info : talkgate::setting_infos()) {
            std::string key = info.key;
            auto pos = text.find("\n" + key + "=");
            EXPECT_NE(pos, std::string::npos) << key << " is missing";
            if (pos == std::string::npos || !info.secret) continue;
            std::string value = text.substr(pos + key.size() + 2);
            value = value.substr(0, value.find('\n'));
            // A secret is either empty (optional ones) or an obvious placeholder.
            EXPECT_TRUE(value.empty() || value.rfind("CHANGE_ME", 0) == 0) << key << "=" << value;
        }
    }
}

TEST(SystemdUnit, VerifiesWithSystemdAnalyze) {
    // A missing tool fails rather than skips: scripts/install-deps.sh installs it.
    ASSERT_EQ(run_command("command -v systemd-analyze", std::chrono::seconds(5)).exit_code, 0)
        << "systemd-analyze is not installed (Debian: systemd; scripts/install-deps.sh)";
    // systemd-analyze checks that ExecStart's binary exists: point it at one that does.
    TempDir dir;
    std::string unit = read_file(source_path("deploy/systemd/talkgate.service"));
    std::string fake_env = dir.path() + "/talkgate.env";
    write_file(fake_env, "LOG_LEVEL=info\n");
    for (auto [from, to] :
         {std::pair<std::string, std::string>{"/usr/local/bin/talkgate", "/bin/true"},
          {"/etc/talkgate/talkgate.env", fake_env}}) {
        for (auto p = unit.find(from); p != std::string::npos; p = unit.find(from, p + to.size())) {
            unit.replace(p, from.size(), to);
        }
    }
    write_file(dir.path() + "/talkgate.service", unit);
    auto r = run_command("systemd-analyze verify " + sh_quote(dir.path() + "/talkgate.service"),
                         std::chrono::seconds(30));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(r.output.find("talkgate.service:"), std::string::npos) << r.output;
}
