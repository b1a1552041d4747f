// talkgate: makes Genesys's NOTIFY talk/hold work for agents behind an Asterisk WebRTC gateway.
#include "config/config.hpp"
#include "talkgate_version.hpp"

#include <ari/client_config.hpp>
#include <ari/rest_client.hpp>

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include <cstring>
#include <iostream>

namespace {

void print_help() {
    std::cout << "usage: talkgate [--config FILE] [--check-config] [--help] [--version]\n\n"
                 "Settings come from the environment, or from FILE (KEY=VALUE lines); the\n"
                 "environment wins. Secrets are never logged.\n\n";
    for (const auto& s : talkgate::setting_infos()) {
        std::cout << "  " << s.key << " (default: " << s.default_value << ")\n      " << s.meaning
                  << "\n";
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::string config_file;
    bool check_only = false;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
            print_help();
            return 0;
        } else if (!std::strcmp(argv[i], "--version")) {
            std::cout << "talkgate " << TALKGATE_VERSION << "\n";
            return 0;
        } else if (!std::strcmp(argv[i], "--check-config")) {
            check_only = true;
        } else if (!std::strcmp(argv[i], "--config") && i + 1 < argc) {
            config_file = argv[++i];
        } else {
            std::cerr << "talkgate: unknown argument '" << argv[i] << "' (see --help)\n";
            return 2;
        }
    }

    std::vector<std::string> errors;
    talkgate::Settings settings;
    if (!config_file.empty()) settings = talkgate::settings_from_file(config_file, errors);
    for (auto& [k, v] : talkgate::settings_from_environment()) settings[k] = v;
    auto loaded = talkgate::load_config(settings);
    errors.insert(errors.end(), loaded.errors.begin(), loaded.errors.end());
    if (!errors.empty()) {
        for (const auto& e : errors) std::cerr << "talkgate: config: " << e << "\n";
        return 2;
    }
    const auto& config = *loaded.config;
    if (check_only) {
        std::cout << talkgate::describe(config);
        return 0;
    }

    spdlog::set_level(spdlog::level::from_str(config.log_level));
    spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e | %-7l | %v");
    spdlog::info("talkgate {} starting: ARI {} app {}, AMI {}:{}", TALKGATE_VERSION, config.ari_url,
                 config.ari_app, config.asterisk_host, config.ami_port);

    ari::ClientConfig ari_config;
    ari_config.base_url = config.ari_url;
    ari_config.user = config.ari_user;
    ari_config.password = config.ari_password;
    ari_config.app = config.ari_app;
    boost::asio::io_context io;
    ari::RestClient ari(ari_config,
                        [&io](std::function<void()> f) { boost::asio::post(io, std::move(f)); });
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](auto, int sig) {
        spdlog::info("signal {}: stopping", sig);
        io.stop();
    });
    ari.asterisk_info([](ari::Result<nlohmann::json> r) {
        if (r) {
            spdlog::info("connected to Asterisk {} over ARI",
                         r.value().value("/system/version"_json_pointer, std::string("?")));
        } else {
            spdlog::error("ARI: {}", r.error().describe());
        }
    });
    io.run();
    return 0;
}
