#include "deploy_test_support.hpp"
#include "lab_env.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <vector>

using namespace talkgate::test;

namespace {

const std::string templates_dir = "/usr/share/talkgate-asterisk/templates/";

// The files deploy/asterisk/Dockerfile copies into the templates directory, read from its
// COPY lines so this test renders exactly what the image would.
std::vector<std::string> dockerfile_template_sources() {
    std::istringstream in(read_file(source_path("deploy/asterisk/Dockerfile")));
    std::string line;
    std::vector<std::string> sources;
    while (std::getline(in, line)) {
        std::istringstream words(line);
        std::vector<std::string> w;
        for (std::string s; words >> s;) w.push_back(s);
        if (w.size() < 3 || w[0] != "COPY" || w.back() != templates_dir) continue;
        sources.insert(sources.end(), w.begin() + 1, w.end() - 1);
    }
    return sources;
}

class AsteriskConfig : public ::testing::Test {
  protected:
    void SetUp() override {
        auto sources = dockerfile_template_sources();
        ASSERT_GE(sources.size(), 2u);
        std::string copy =
            "cd " + sh_quote(source_path(".")) + " && mkdir -p " + sh_quote(templates()) + " && cp";
        for (const auto& s : sources) copy += " " + s;  // globs expand as Docker's would
        copy += " " + sh_quote(templates() + "/");
        auto r = run_command(copy, std::chrono::seconds(10));
        ASSERT_EQ(r.exit_code, 0) << r.output;
    }

    std::string templates() const { return dir_.path() + "/templates"; }
    std::string out() const { return dir_.path() + "/etc"; }

    CommandResult render(const std::map<std::string, std::string>& env) {
        std::string cmd =
            "env -i PATH=/usr/bin:/bin TALKGATE_ASTERISK_TEMPLATES=" + sh_quote(templates()) +
            " TALKGATE_ASTERISK_STOCK=/nonexistent";
        for (const auto& [k, v] : env) cmd += " " + k + "=" + sh_quote(v);
        cmd += " sh " + sh_quote(source_path("deploy/asterisk/entrypoint.sh")) + " render " +
               sh_quote(out());
        return run_command(cmd, std::chrono::seconds(20));
    }

    std::string conf(const std::string& name) { return read_file(out() + "/" + name); }

    TempDir dir_;
};

}  // namespace

TEST_F(AsteriskConfig, RendersEveryTemplateFromTheEnvironment) {
    // Characters that break naive sed/awk substitution must survive.
    const std::string ari_password = random_secret() + "&\\|/";
    const std::string ami_secret = random_secret();
    auto r = render({{"ARI_USER", "tg-ari"},
                     {"ARI_PASSWORD", ari_password},
                     {"ARI_APP", "tgapp"},
                     {"ASTERISK_AMI_USER", "tg-ami"},
                     {"ASTERISK_AMI_SECRET", ami_secret},
                     {"ASTERISK_AMI_PORT", "15038"},
                     {"GENESYS_SIP_HOST", "192.0.2.10,192.0.2.11"},
                     {"HEP_LISTEN", "127.0.0.1:19060"},
                     {"ASTERISK_HTTP_PORT", "18088"}});
    ASSERT_EQ(r.exit_code, 0) << r.output;

    EXPECT_NE(conf("ari.conf").find("[tg-ari]"), std::string::npos);
    EXPECT_NE(conf("ari.conf").find("password = " + ari_password + "\n"), std::string::npos)
        << conf("ari.conf");
    EXPECT_NE(conf("manager.conf").find("[tg-ami]\nsecret = " + ami_secret + "\n"),
              std::string::npos);
    EXPECT_NE(conf("manager.conf").find("port = 15038"), std::string::npos);
    EXPECT_NE(conf("manager.conf").find("bindaddr = 127.0.0.1"), std::string::npos);
    EXPECT_NE(conf("http.conf").find("bindport = 18088"), std::string::npos);
    EXPECT_NE(conf("hep.conf").find("enabled = yes"), std::string::npos);
    EXPECT_NE(conf("hep.conf").find("capture_address = 127.0.0.1:19060"), std::string::npos);
    EXPECT_NE(conf("hep.conf").find("uuid_type = call-id"), std::string::npos);
    EXPECT_NE(conf("pjsip.conf").find("match = 192.0.2.10,192.0.2.11"), std::string::npos);
    // The dialplan is the project's own, with the app name talkgate connects as.
    EXPECT_NE(conf("extensions.conf").find("TALKGATE_APP = tgapp"), std::string::npos);
    EXPECT_NE(conf("extensions.conf").find("[from-genesys]"), std::string::npos);
    // The module list and NOTIFY sections the lab runs with.
    EXPECT_EQ(conf("modules.conf"), read_file(source_path("tests/lab/asterisk/modules.conf")));
    EXPECT_NE(conf("pjsip_notify.conf").find("Event => talk"), std::string::npos);
    for (const char* f : {"asterisk.conf", "logger.conf", "rtp.conf", "musiconhold.conf"}) {
        EXPECT_FALSE(conf(f).empty()) << f;
    }
    auto left =
        run_command("grep -l '@[A-Z_]*@' " + sh_quote(out()) + "/*.conf", std::chrono::seconds(5));
    EXPECT_NE(left.exit_code, 0) << "placeholders left in: " << left.output;
}

TEST_F(AsteriskConfig, RefusesMissingAndPlaceholderSecrets) {
    std::map<std::string, std::string> good = {{"ARI_PASSWORD", random_secret()},
                                               {"ASTERISK_AMI_SECRET", random_secret()},
                                               {"GENESYS_SIP_HOST", "192.0.2.10"}};
    ASSERT_EQ(render(good).exit_code, 0);
    struct Case {
        std::string key, value, message;
    };
    for (const auto& c :
         std::vector<Case>{{"ARI_PASSWORD", "", "ARI_PASSWORD is not set"},
                           {"ARI_PASSWORD", "CHANGE_ME_long_random_ari_password", "placeholder"},
                           {"ASTERISK_AMI_SECRET", "admin123", "placeholder or sample"},
                           {"ASTERISK_AMI_SECRET", "", "ASTERISK_AMI_SECRET is not set"},
                           {"GENESYS_SIP_HOST", "", "GENESYS_SIP_HOST is not set"}}) {
        SCOPED_TRACE(c.key + "=" + c.value);
        auto env = good;
        env[c.key] = c.value;
        auto r = render(env);
        EXPECT_NE(r.exit_code, 0) << r.output;
        EXPECT_NE(r.output.find(c.message), std::string::npos) << r.output;
    }
}

TEST(DeployScripts, PassShellcheck) {
    // A missing tool fails rather than skips: scripts/install-deps.sh installs it.
    ASSERT_EQ(run_command("command -v shellcheck", std::chrono::seconds(5)).exit_code, 0)
        << "shellcheck is not installed (scripts/install-deps.sh)";
    auto r = run_command("cd " + sh_quote(source_path(".")) +
                             " && shellcheck -x deploy/asterisk/entrypoint.sh "
                             "deploy/asterisk/install-asterisk.sh "
                             "deploy/talkgate/runtime-packages.sh scripts/docker-lab.sh "
                             "tests/docker/compose_stack_test.sh",
                         std::chrono::seconds(60));
    EXPECT_EQ(r.exit_code, 0) << r.output;
}
