#include "lab_env.hpp"

#include <sys/wait.h>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <stdexcept>

namespace talkgate::test {

namespace {

std::map<std::string, std::string> parse_env_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        throw std::runtime_error("cannot read lab env file '" + path +
                                 "': is the lab fixture (lab.start) running?");
    }
    std::map<std::string, std::string> values;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        auto eq = line.find('=');
        if (eq == std::string::npos) continue;
        values[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return values;
}

std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'')
            out += "'\\''";
        else
            out += c;
    }
    return out + "'";
}

}  // namespace

CommandResult run_command(const std::string& command, std::chrono::seconds deadline) {
    std::string full = "timeout -k 2 " + std::to_string(deadline.count()) + " sh -c " +
                       shell_quote(command) + " 2>&1";
    CommandResult result;
    FILE* pipe = ::popen(full.c_str(), "r");
    if (pipe == nullptr) throw std::runtime_error("popen failed for: " + command);
    std::array<char, 4096> buf{};
    std::size_t n = 0;
    while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0)
        result.output.append(buf.data(), n);
    int status = ::pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

LabEnv::LabEnv(std::map<std::string, std::string> values) : values_(std::move(values)) {}

const LabEnv& LabEnv::get() {
    static const LabEnv env = [] {
        const char* path = std::getenv("TALKGATE_LAB_ENV");
        if (path == nullptr || *path == '\0') {
            throw std::runtime_error("TALKGATE_LAB_ENV is not set: run this test through ctest");
        }
        return LabEnv(parse_env_file(path));
    }();
    return env;
}

const LabEnv& LabEnv::module_lab() {
    static const LabEnv env = [] {
        const char* path = std::getenv("TALKGATE_LAB_MODULE_ENV");
        if (path == nullptr || *path == '\0')
            throw std::runtime_error(
                "TALKGATE_LAB_MODULE_ENV is not set: run this test through ctest");
        return LabEnv(parse_env_file(path));
    }();
    return env;
}

const std::string& LabEnv::operator[](const std::string& key) const {
    auto it = values_.find(key);
    if (it == values_.end()) throw std::runtime_error("lab env has no " + key);
    return it->second;
}

int LabEnv::port(const std::string& key) const {
    return std::stoi((*this)[key]);
}

std::string LabEnv::cli(const std::string& command) const {
    auto r = run_command(
        (*this)["LAB_SCRIPT"] + " cli " + (*this)["LAB_STATE_DIR"] + " " + shell_quote(command),
        std::chrono::seconds(30));
    if (r.exit_code != 0) throw std::runtime_error("lab cli '" + command + "' failed: " + r.output);
    return r.output;
}

void LabEnv::reset() const {
    auto r = run_command((*this)["LAB_SCRIPT"] + " reset " + (*this)["LAB_STATE_DIR"],
                         std::chrono::seconds(30));
    if (r.exit_code != 0) throw std::runtime_error("lab reset failed: " + r.output);
}

void LabEnv::restart() const {
    auto r = run_command((*this)["LAB_SCRIPT"] + " restart " + (*this)["LAB_STATE_DIR"],
                         std::chrono::seconds(90));
    if (r.exit_code != 0) throw std::runtime_error("lab restart failed: " + r.output);
}

void LabEnv::stop() const {
    auto r = run_command((*this)["LAB_SCRIPT"] + " stop " + (*this)["LAB_STATE_DIR"],
                         std::chrono::seconds(30));
    if (r.exit_code != 0) throw std::runtime_error("lab stop failed: " + r.output);
}

void LabEnv::crash() const {
    auto r = run_command((*this)["LAB_SCRIPT"] + " crash " + (*this)["LAB_STATE_DIR"],
                         std::chrono::seconds(30));
    if (r.exit_code != 0) throw std::runtime_error("lab crash failed: " + r.output);
}

void LabEnv::start_again() const {
    // restart with kept credentials works from a stopped lab too
    restart();
}

std::size_t LabEnv::log_size() const {
    std::ifstream in((*this)["LAB_LOG"], std::ios::ate | std::ios::binary);
    return in ? static_cast<std::size_t>(in.tellg()) : 0;
}

std::string LabEnv::log_since(std::size_t offset) const {
    std::ifstream in((*this)["LAB_LOG"], std::ios::binary);
    if (!in) return {};
    in.seekg(static_cast<std::streamoff>(offset));
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

int LabEnv::next_sipp_port() const {
    // Ports BASE+40 .. BASE+99 are the tests'; cycle through them (each test binary runs alone,
    // as the lab tests share a resource lock).
    static std::atomic<int> next{0};
    int base = port("LAB_SIPP_PORT_BASE");
    return base + (next++ % 60);
}

}  // namespace talkgate::test
