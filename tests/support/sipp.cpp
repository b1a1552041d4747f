#include "sipp.hpp"

#include "lab_env.hpp"
#include "polling.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace talkgate::test {

std::string sipp_scenario(const std::string& name) {
    return talkgate::test::source_dir() + "/tests/sipp/" + name;
}

Sipp::Options Sipp::agent(const LabEnv& lab, const std::string& dn, const std::string& scenario,
                          std::chrono::seconds timeout) {
    Options o;
    o.scenario = scenario;
    o.local_ip = lab["LAB_AGENT_IP"];
    o.local_port = lab.port("LAB_AGENT_PORT_BASE") + (std::stoi(dn) - 1000);
    o.uac = false;
    o.timeout = timeout;
    return o;
}

Sipp::Options Sipp::genesys(const LabEnv& lab, const std::string& dn, const std::string& scenario,
                            const std::string& uuid, int call_ms, std::chrono::seconds timeout) {
    Options o;
    o.scenario = scenario;
    o.local_ip = lab["LAB_GENESYS_IP"];
    o.service = dn;
    o.timeout = timeout;
    o.extra = {"-set", "uuid", uuid, "-d", std::to_string(call_ms)};
    return o;
}

Sipp::Sipp(const LabEnv& lab, Options o) {
    port_ = o.local_port != 0 ? o.local_port : lab.next_sipp_port();
    const std::string tag = o.scenario + "-" + std::to_string(port_);
    out_path_ = lab["LAB_STATE_DIR"] + "/sipp-" + tag + ".out";
    err_path_ = lab["LAB_STATE_DIR"] + "/sipp-" + tag + "-errors.log";

    std::vector<std::string> args = {"sipp"};
    if (o.uac) {
        args.push_back(lab["LAB_SIP_HOST"] + ":" +
                       (o.transport == "l1" ? lab["LAB_SIP_TLS_PORT"] : lab["LAB_SIP_PORT"]));
    }
    args.insert(args.end(),
                {"-sf", sipp_scenario(o.scenario), "-i", o.local_ip, "-p", std::to_string(port_),
                 "-t", o.transport, "-m", std::to_string(o.calls), "-timeout",
                 std::to_string(o.timeout.count()) + "s", "-timeout_error", "-nostdin",
                 "-trace_err", "-error_file", err_path_, "-bind_local"});
    if (!o.service.empty()) args.insert(args.end(), {"-s", o.service});
    args.insert(args.end(), o.extra.begin(), o.extra.end());

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int rc = posix_spawnp(&pid_, "sipp", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot start sipp: is it installed (sip-tester)?");
}

Sipp::~Sipp() {
    kill();
}

std::optional<int> Sipp::wait(std::chrono::milliseconds deadline) {
    if (exit_code_) return exit_code_;
    int status = 0;
    if (!wait_until([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, deadline,
                    std::chrono::milliseconds(20)))
        return std::nullopt;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return exit_code_;
}

std::string Sipp::wait_success(std::chrono::milliseconds deadline) {
    auto code = wait(deadline);
    if (code && *code == 0) return {};
    std::ostringstream report;
    if (!code)
        report << "sipp still running after " << deadline.count() << " ms";
    else
        report << "sipp exited " << *code;
    report << "\n--- sipp output ---\n" << output();
    return report.str();
}

std::string LabCall::wait_success(std::chrono::milliseconds genesys_deadline,
                                  std::chrono::milliseconds agent_deadline) {
    std::string report;
    if (auto g = genesys.wait_success(genesys_deadline); !g.empty()) report += "genesys: " + g;
    if (auto a = agent.wait_success(agent_deadline); !a.empty()) report += "\nagent: " + a;
    return report;
}

void Sipp::kill() {
    if (pid_ <= 0 || exit_code_) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    exit_code_ = 137;
}

std::string Sipp::output() const {
    std::ostringstream all;
    for (const auto& path : {out_path_, err_path_}) {
        std::ifstream in(path);
        if (in) all << in.rdbuf();
    }
    std::string s = all.str();
    constexpr std::size_t kMax = 6000;
    return s.size() > kMax ? s.substr(s.size() - kMax) : s;
}

}  // namespace talkgate::test
