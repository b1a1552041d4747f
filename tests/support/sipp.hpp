#pragma once

#include <sys/types.h>
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace talkgate::test {

class LabEnv;

// One sipp process playing Genesys, an agent or another peer against the lab's Asterisk.
// The destructor kills it if it still runs, so no sipp outlives its test.
class Sipp {
  public:
    struct Options {
        std::string scenario;  // file name under tests/sipp/
        std::string local_ip;  // e.g. LAB_GENESYS_IP or LAB_AGENT_IP
        int local_port = 0;    // 0: LabEnv::next_sipp_port()
        std::string service;   // -s (the dialled DN for a UAC)
        bool uac = true;       // false: a UAS waiting for calls (no remote)
        int calls = 1;         // -m
        std::chrono::seconds timeout{30};
        std::string transport = "u1";    // -t
        std::vector<std::string> extra;  // more arguments, e.g. {"-set", "uuid", "X"}
    };

    // The lab's agent for DN: a UAS on the agent address, on the port its endpoint names.
    static Options agent(const LabEnv& lab, const std::string& dn, const std::string& scenario,
                         std::chrono::seconds timeout = std::chrono::seconds(30));
    // Genesys calling DN with X-Genesys-CallUUID `uuid`; call_ms is sipp's -d (pauses).
    static Options genesys(const LabEnv& lab, const std::string& dn, const std::string& scenario,
                           const std::string& uuid, int call_ms,
                           std::chrono::seconds timeout = std::chrono::seconds(30));

    Sipp(const LabEnv& lab, Options options);
    ~Sipp();
    Sipp(const Sipp&) = delete;
    Sipp& operator=(const Sipp&) = delete;

    // Waits for exit; nullopt when still running after `deadline`.
    std::optional<int> wait(std::chrono::milliseconds deadline);
    // Waits and returns a readable report when sipp did not exit 0 (empty on success).
    std::string wait_success(std::chrono::milliseconds deadline);
    void kill();
    int local_port() const { return port_; }
    // sipp's own output and error log, for failure messages.
    std::string output() const;

  private:
    pid_t pid_ = -1;
    int port_ = 0;
    std::optional<int> exit_code_;
    std::string out_path_;
    std::string err_path_;
};

// One call through the lab: sipp as the agent on a DN, started first so it listens before
// Asterisk dials it, then sipp as Genesys calling that DN.
class LabCall {
  public:
    LabCall(const LabEnv& lab, Sipp::Options agent, Sipp::Options genesys)
        : agent(lab, std::move(agent)), genesys(lab, std::move(genesys)) {}

    // Empty when Genesys, then the agent, exited 0 within their deadlines; else sipp's reports.
    std::string wait_success(std::chrono::milliseconds genesys_deadline = std::chrono::seconds(15),
                             std::chrono::milliseconds agent_deadline = std::chrono::seconds(10));
    // Both sipps' output, for failure messages.
    std::string output() const { return genesys.output() + agent.output(); }

    Sipp agent;
    Sipp genesys;
};

// Path of a scenario in the source tree.
std::string sipp_scenario(const std::string& name);

}  // namespace talkgate::test
