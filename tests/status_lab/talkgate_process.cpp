#include "talkgate_process.hpp"

#include "lab_env.hpp"
#include "polling.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

extern char** environ;

namespace talkgate::test {

Settings lab_talkgate_settings(const LabEnv& lab, int status_port, const std::string& token,
                               const std::string& bridge_url) {
    return {{"ARI_URL", lab["LAB_ARI_URL"]},
            {"ARI_USER", lab["LAB_ARI_USER"]},
            {"ARI_PASSWORD", lab["LAB_ARI_PASSWORD"]},
            {"ARI_APP", lab["LAB_ARI_APP"]},
            {"ASTERISK_HOST", lab["LAB_AMI_HOST"]},
            {"ASTERISK_AMI_PORT", lab["LAB_AMI_PORT"]},
            {"ASTERISK_AMI_USER", lab["LAB_AMI_USER"]},
            {"ASTERISK_AMI_SECRET", lab["LAB_AMI_SECRET"]},
            {"STATUS_LISTEN", "127.0.0.1:" + std::to_string(status_port)},
            {"STATUS_TOKEN", token},
            {"BRIDGE_API_URL", bridge_url},
            {"LOG_LEVEL", "info"}};
}

void add_lab_hep(Settings& settings, const LabEnv& lab) {
    settings["GENESYS_SIP_HOST"] = lab["LAB_GENESYS_IP"];
    settings["HEP_LISTEN"] = "127.0.0.1:" + lab["LAB_HEP_PORT"];
}

std::vector<std::string> secrets_in(const std::string& log, const Settings& settings) {
    std::vector<std::string> found;
    for (const char* key : {"ARI_PASSWORD", "ASTERISK_AMI_SECRET", "STATUS_TOKEN"}) {
        auto it = settings.find(key);
        if (it != settings.end() && !it->second.empty() &&
            log.find(it->second) != std::string::npos)
            found.push_back(key);
    }
    return found;
}

std::string make_temp_dir(const std::string& prefix) {
    std::string tmpl = "/tmp/" + prefix + "XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed for " + tmpl);
    return std::string(buf.data());
}

std::string random_token(std::size_t length) {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::ifstream urandom("/dev/urandom", std::ios::binary);
    std::string out;
    while (out.size() < length) {
        unsigned char c = 0;
        urandom.read(reinterpret_cast<char*>(&c), 1);
        if (!urandom) throw std::runtime_error("cannot read /dev/urandom");
        if (c < 248) out += alphabet[c % 62];  // 248 = 4*62: no modulo bias
    }
    return out;
}

TalkgateProcess::TalkgateProcess(const std::string& dir,
                                 const std::map<std::string, std::string>& settings) {
    const std::string config_path = dir + "/talkgate.env";
    log_path_ = dir + "/talkgate.log";
    {
        // The env file carries secrets: owner-only from the start.
        int fd = ::open(config_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0) throw std::runtime_error("cannot write " + config_path);
        ::close(fd);
        std::ofstream out(config_path, std::ios::trunc);
        for (const auto& [k, v] : settings) out << k << '=' << v << '\n';
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    std::string exe = TALKGATE_EXE;
    std::string flag = "--config";
    std::vector<char*> argv{exe.data(), flag.data(), const_cast<char*>(config_path.c_str()),
                            nullptr};
    int rc = posix_spawn(&pid_, exe.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot start " + exe);
}

TalkgateProcess::~TalkgateProcess() {
    stop();
}

bool TalkgateProcess::running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
    }
    return true;
}

std::string TalkgateProcess::stop(std::chrono::milliseconds grace) {
    if (pid_ <= 0) return "not running";
    ::kill(pid_, SIGTERM);
    int status = 0;
    if (wait_until([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, grace,
                   std::chrono::milliseconds(20))) {
        pid_ = -1;
        if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
        return "signal " + std::to_string(WTERMSIG(status));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return "killed after " + std::to_string(grace.count()) + " ms";
}

void TalkgateProcess::kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
}

std::string TalkgateProcess::log() const {
    std::ifstream in(log_path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace talkgate::test
