#include "redis_server.hpp"

#include "fake_bridge_api.hpp"  // free_loopback_port
#include "lab_env.hpp"
#include "polling.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

extern char** environ;

namespace talkgate::test {

namespace {

std::string generated_password() {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::ifstream urandom("/dev/urandom", std::ios::binary);
    std::string out;
    while (out.size() < 32) {
        unsigned char c = 0;
        urandom.read(reinterpret_cast<char*>(&c), 1);
        if (!urandom) throw std::runtime_error("cannot read /dev/urandom");
        if (c < 248) out += alphabet[c % 62];
    }
    return out;
}

}  // namespace

RedisServer::RedisServer(int port)
    : port_(port ? port : free_loopback_port()), password_(generated_password()) {
    char tmpl[] = "/tmp/talkgate-redis-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
}

RedisServer::~RedisServer() {
    kill();
    run_command("rm -rf '" + dir_ + "'", std::chrono::seconds(10));
}

bool RedisServer::start() {
    if (pid_ > 0) return true;
    // The password in a config file (mode 600), not on the command line where ps shows it.
    const std::string conf = dir_ + "/redis.conf";
    {
        int fd = ::open(conf.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0) return false;
        ::close(fd);
        std::ofstream out(conf, std::ios::trunc);
        out << "bind 127.0.0.1\nport " << port_ << "\nrequirepass " << password_
            << "\nsave \"\"\nappendonly no\ndaemonize no\ndir " << dir_ << "\nlogfile " << dir_
            << "/redis.log\nprotected-mode yes\n";
    }
    std::string exe = "redis-server";
    std::vector<char*> argv{exe.data(), const_cast<char*>(conf.c_str()), nullptr};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    const int rc = posix_spawnp(&pid_, exe.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        pid_ = -1;
        return false;
    }
    return wait_until([&] { return cli("PING") == "PONG"; }, std::chrono::seconds(10));
}

void RedisServer::kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
}

std::string RedisServer::url() const {
    return "redis://:" + password_ + "@127.0.0.1:" + std::to_string(port_);
}

std::string RedisServer::cli(const std::string& args) const {
    // REDISCLI_AUTH: the password stays off the command line.
    auto r = run_command("REDISCLI_AUTH='" + password_ + "' redis-cli -h 127.0.0.1 -p " +
                             std::to_string(port_) + " " + args + " 2>&1",
                         std::chrono::seconds(5));
    std::string out = r.output;
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
}

std::string RedisServer::log() const {
    std::ifstream in(dir_ + "/redis.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace talkgate::test
