// talkgate: makes Genesys's NOTIFY talk/hold work for agents behind an Asterisk WebRTC gateway.
#include "config/config.hpp"
#include "talkgate_version.hpp"

#include "controller/controller.hpp"
#include "ha/active_standby.hpp"
#include "logging/logging.hpp"
#include "metrics/talkgate_metrics.hpp"
#include "status/status_server.hpp"

#include <pplx/threadpool.h>
#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <memory>

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

    std::string log_error;
    if (!talkgate::logging::configure(config.log_level, &log_error))
        spdlog::warn("LOG_LEVEL: {}", log_error);
    spdlog::info("talkgate {} starting: ARI {} app {}, AMI {}:{}, bridge API {}", TALKGATE_VERSION,
                 talkgate::url_without_credentials(config.ari_url), config.ari_app,
                 config.asterisk_host, config.ami_port,
                 config.bridge_api_url.empty()
                     ? "(off)"
                     : talkgate::url_without_credentials(config.bridge_api_url));

    // cpprestsdk's HTTP client and listener run their sockets on its own pool (40 threads by
    // default); every result hops to talkgate's loop with one post. Two, not one: the status
    // listener's close blocks a pool thread until its open connections' handlers have run on
    // another (README, Threading).
    crossplat::threadpool::initialize_with_threads(2);
    boost::asio::io_context io(1);  // one thread runs it: Asio may skip its locks
    talkgate::metrics::TalkgateMetrics metrics;
    talkgate::controller::Controller controller(io, config, metrics);
    std::string error;
    int exit_code = 0;
    std::function<void(int)> end_process;  // set once the status API is up
    // With REDIS_URL the controller starts only once this process holds the gateway's lease.
    std::unique_ptr<talkgate::ha::ActiveStandby> active_standby;
    if (!config.redis_url.empty()) {
        active_standby = std::make_unique<talkgate::ha::ActiveStandby>(io, config, metrics,
                                                                       controller, [&](int code) {
                                                                           if (end_process)
                                                                               end_process(code);
                                                                       });
        // Before the status API, whose threads read what start() sets up; the lease's hooks
        // run on the io loop, so only once end_process is set.
        if (!active_standby->start(error)) {
            spdlog::critical("cannot start: {}", error);
            return 1;
        }
    } else if (!controller.start(error)) {
        spdlog::critical("cannot start: {}", error);
        return 1;
    }
    talkgate::status::StatusSource& status_source =
        active_standby ? static_cast<talkgate::status::StatusSource&>(*active_standby) : controller;

    talkgate::status::StatusServerOptions status_options;
    status_options.host = config.status_listen.host;
    status_options.port = config.status_listen.port;
    status_options.token = config.status_token;
    status_options.on_handler_error = metrics.handler_error_counter("status");
    talkgate::status::StatusServer status(status_options, status_source, metrics.registry);
    if (!status.start(error)) {
        spdlog::critical("cannot start the status API on {}:{}: {}", status_options.host,
                         status_options.port, error);
        controller.stop();
        return 1;
    }
    spdlog::info("status API on {}{}", status.url(),
                 config.status_token.empty() ? " (STATUS_TOKEN unset: only /health)" : "");

    bool status_closed = true;
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    end_process = [&](int code) {
        exit_code = code;
        signals.cancel();
        if (active_standby) active_standby->stop();
        controller.stop();  // first: the calls are left to Asterisk whatever the status API does
        status_closed = status.stop();
        io.stop();
    };
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        spdlog::info("signal {}: stopping", sig);
        end_process(0);
    });
    // Handlers catch what they do not expect; this is the last line, so the loop never dies.
    auto run_guarded = [&](auto run) {
        for (;;) {
            try {
                run();
                return;
            } catch (const std::exception& e) {
                metrics.handler_errors.labels({"io_loop"}).inc();
                spdlog::error("io loop: a handler threw: {} (carrying on)", e.what());
            } catch (...) {
                metrics.handler_errors.labels({"io_loop"}).inc();
                spdlog::error("io loop: a handler threw a non-standard exception (carrying on)");
            }
        }
    };
    run_guarded([&] { io.run(); });
    // Stopped: the loop runs on until the ARI WebSocket's close handshake is done (at most 1.5 s).
    io.restart();
    run_guarded([&] { io.run_for(std::chrono::milliseconds(1500)); });
    if (!status_closed) {
        // cpprestsdk's pool would be joined at exit and never return: leave without it.
        spdlog::error("exiting without waiting for cpprestsdk's threads");
        spdlog::shutdown();
        std::fflush(nullptr);
        std::_Exit(exit_code);
    }
    return exit_code;
}
