#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace talkgate::test {

// The real talkgate executable as a child process, its settings in a private env file and
// its stdout and stderr in one log file. The destructor stops it (SIGTERM, then SIGKILL).
class TalkgateProcess {
  public:
    // `settings` become KEY=VALUE lines of the --config file written into `dir`.
    TalkgateProcess(const std::string& dir, const std::map<std::string, std::string>& settings);
    ~TalkgateProcess();
    TalkgateProcess(const TalkgateProcess&) = delete;
    TalkgateProcess& operator=(const TalkgateProcess&) = delete;

    bool running();
    // SIGTERM, a bounded wait, then SIGKILL; returns the exit status text.
    std::string stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
    // SIGKILL, as a crash or the OOM killer would: talkgate cleans nothing up.
    void kill();
    std::string log() const;
    const std::string& log_path() const { return log_path_; }

  private:
    pid_t pid_ = -1;
    std::string log_path_;
};

class LabEnv;
using Settings = std::map<std::string, std::string>;

// What points a talkgate at the lab's Asterisk (ARI, AMI) with its status API on
// 127.0.0.1:`status_port` behind `token` and the bridge API at `bridge_url`, logging at info.
Settings lab_talkgate_settings(const LabEnv& lab, int status_port, const std::string& token,
                               const std::string& bridge_url);
// Adds HEP from the lab's Asterisk and the lab's Genesys address.
void add_lab_hep(Settings& settings, const LabEnv& lab);
// The names of the secret settings whose values appear in `log` (none, or a leak).
std::vector<std::string> secrets_in(const std::string& log, const Settings& settings);

// A fresh private directory under the build's temp area.
std::string make_temp_dir(const std::string& prefix);
// A random token of `length` alphanumerics from /dev/urandom.
std::string random_token(std::size_t length);

}  // namespace talkgate::test
