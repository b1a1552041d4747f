#pragma once

#include "lab_env.hpp"
#include "polling.hpp"

#include <cpprest/http_client.h>
#include <nlohmann/json.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace talkgate::test {

inline std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

inline bool file_exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

// A node script under tests/browser/ that drives headless Chromium (playwright-core), in a
// process group of its own so that nothing of it outlives the test. The script writes its
// loopback control URL into `ready` (or why it could not start into `failed`) in the artefact
// dir, where its screenshots and logs stay too; the test drives it over that URL.
class NodeDriver {
  public:
    // `env`: the script's whole environment (besides PATH and HOME); `quit_path`: the POST that
    // makes it save its artefacts and exit.
    NodeDriver(const std::string& script, std::vector<std::string> env,
               const std::string& artefacts, std::string quit_path)
        : artefacts_(artefacts), quit_path_(std::move(quit_path)) {
        using namespace std::chrono_literals;
        run_command("rm -rf '" + artefacts_ + "' && mkdir -p '" + artefacts_ + "'", 10s);
        const std::string driver = source_dir() + "/tests/browser/" + script;
        env.push_back("PATH=/usr/bin:/bin");
        env.push_back("HOME=" + artefacts_);
        const std::string out = artefacts_ + "/driver.out";
        pid_ = ::fork();
        if (pid_ == 0) {
            ::setpgid(0, 0);
            std::FILE* f = std::freopen(out.c_str(), "w", stdout);
            if (f == nullptr || ::dup2(STDOUT_FILENO, STDERR_FILENO) < 0) ::_exit(126);
            std::vector<char*> envp;
            for (auto& e : env) envp.push_back(e.data());
            envp.push_back(nullptr);
            const char* argv[] = {"node", driver.c_str(), nullptr};
            ::execve("/usr/bin/node", const_cast<char* const*>(argv), envp.data());
            ::_exit(127);
        }
        if (pid_ < 0) throw std::runtime_error("fork failed");
        ::setpgid(pid_, pid_);
        // Chromium's start (and whatever the script does first): seconds on a loaded machine.
        wait_until(
            [this] {
                return file_exists(artefacts_ + "/ready") || file_exists(artefacts_ + "/failed") ||
                       exited();
            },
            45s, 200ms);
        url_ = read_file(artefacts_ + "/ready");
    }

    ~NodeDriver() { quit(); }
    NodeDriver(const NodeDriver&) = delete;
    NodeDriver& operator=(const NodeDriver&) = delete;

    // Lets the script save its artefacts and exit; kills what is left of its group.
    void quit() {
        using namespace std::chrono_literals;
        if (pid_ <= 0) return;
        if (!url_.empty() && !exited()) {
            try {
                request("POST", quit_path_);
            } catch (const std::exception&) {
            }
        }
        if (!wait_until([this] { return exited(); }, 15s, 100ms)) ::kill(-pid_, SIGKILL);
        ::kill(-pid_, SIGKILL);  // whatever the driver left in its group
        if (!exited()) ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }

    bool ready() const { return !url_.empty(); }
    const std::string& url() const { return url_; }
    std::string artefact(const std::string& name) const {
        return read_file(artefacts_ + "/" + name);
    }
    std::string diagnostics() const {
        return "\n--- driver.out\n" + artefact("driver.out") + "--- driver.log\n" +
               artefact("driver.log") + "--- failed\n" + artefact("failed");
    }

    // One request to the script's control server; its reply body.
    std::string request(const std::string& method, const std::string& path,
                        const std::string& body = "") {
        web::http::client::http_client_config hc;
        hc.set_timeout(std::chrono::seconds(15));
        web::http::client::http_client c(url_, hc);
        web::http::http_request req(method);
        req.set_request_uri(path);
        if (!body.empty()) req.set_body(body, "application/json");
        return c.request(req).get().extract_string().get();
    }

    // Polls GET `path` (JSON) until `done` holds for it; returns the last reply read. A reply
    // with an "error" member is the script's own failure (its page did not answer), not a state.
    template <class F>
    nlohmann::json wait_for(const std::string& path, F&& done, std::chrono::milliseconds deadline) {
        using namespace std::chrono_literals;
        nlohmann::json last;
        wait_until(
            [&] {
                try {
                    last = nlohmann::json::parse(request("GET", path), nullptr, false);
                } catch (const std::exception& e) {
                    last = {{"error", e.what()}};
                    return false;
                }
                return last.is_object() && !last.contains("error") && done(last);
            },
            deadline, 250ms);
        return last;
    }

  private:
    bool exited() {
        if (done_) return true;
        int status = 0;
        done_ = ::waitpid(pid_, &status, WNOHANG) == pid_;
        return done_;
    }

    std::string artefacts_;
    std::string quit_path_;
    pid_t pid_ = -1;
    bool done_ = false;
    std::string url_;
};

}  // namespace talkgate::test
