#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

// The contract between the status API and the controller: the server asks, the controller
// answers through callbacks, so the server never blocks the controller's executor.
namespace talkgate::status {

struct CallView {
    std::string id, dn, state, call_id, call_uuid, genesys_channel, agent_channel, bridge, policy;
    std::int64_t created_ms = 0;
    std::optional<std::int64_t> ringing_ms, notify_talk_ms, answered_ms;
    bool held = false;
};

struct Readiness {
    bool ari_required, ari_up, ami_required, ami_up, hep_required, hep_up;
};

enum class AnswerOutcome { requested, no_such_call, not_ringing };

class StatusSource {  // implemented by the controller; callbacks may be called on any thread
  public:
    virtual ~StatusSource() = default;
    virtual void calls(std::function<void(std::vector<CallView>)> done) = 0;  // all live calls
    virtual Readiness readiness() const = 0;                                  // cheap, thread-safe
    virtual void request_answer(const std::string& dn,
                                std::function<void(AnswerOutcome, std::string detail)> done) = 0;
};

}  // namespace talkgate::status
