#pragma once

#include <chrono>
#include <map>
#include <string>

namespace talkgate::test {

// The running lab's settings, read from the lab.env that scripts/lab.sh start wrote
// (path in TALKGATE_LAB_ENV). Throws with a clear message when the lab is not there.
class LabEnv {
  public:
    static const LabEnv& get();
    // The module lab's (path in TALKGATE_LAB_MODULE_ENV), for a test that runs both labs.
    static const LabEnv& module_lab();

    const std::string& operator[](const std::string& key) const;
    int port(const std::string& key) const;

    // `lab.sh cli` with a deadline; returns the command's output.
    std::string cli(const std::string& command) const;
    // Hangs up every channel and waits until Asterisk has none left.
    void reset() const;
    // Stops Asterisk and starts it again with the same ports and credentials.
    void restart() const;
    void stop() const;
    // Kills Asterisk with SIGKILL: clients get no hangup events. start_again() revives it.
    void crash() const;
    void start_again() const;

    // Lines of the lab's Asterisk log (warnings and errors) written since `offset` bytes.
    std::size_t log_size() const;
    std::string log_since(std::size_t offset) const;

    // A sipp local port that no other sipp of this test binary got (bounded range per lab).
    int next_sipp_port() const;

  private:
    explicit LabEnv(std::map<std::string, std::string> values);
    std::map<std::string, std::string> values_;
};

// Runs a shell command with a deadline, returns its exit code and output (stdout+stderr).
struct CommandResult {
    int exit_code = -1;
    std::string output;
};
CommandResult run_command(const std::string& command, std::chrono::seconds deadline);

// The source tree's top folder (for scenarios, shipped config files, ...).
const std::string& source_dir();

}  // namespace talkgate::test
