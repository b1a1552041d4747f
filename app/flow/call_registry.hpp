#pragma once

#include "flow/call.hpp"

#include <cstddef>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace talkgate::flow {

// Every live call, indexed by each key a NOTIFY or an ARI event may carry. Mutated only by
// the call flow, on its one executor: no locks.
class CallRegistry {
  public:
    explicit CallRegistry(std::size_t recent_capacity = 200) : recent_capacity_(recent_capacity) {}

    Call& add(Call call);
    void set_agent_channel(Call& call, const std::string& agent_channel);
    // Moves the call into the bounded ring of recent calls.
    void remove(const std::string& key);

    Call* by_key(const std::string& key);
    const Call* find(const std::string& key) const;   // by key, for readers outside the flow
    Call* by_channel(const std::string& channel_id);  // Genesys or agent leg
    Call* by_call_id(const std::string& call_id);
    std::vector<Call*> by_dn(const std::string& dn);
    // A live call, else an ended one still in the ring (newest first): where late steps go.
    Call* live_or_recent(const std::string& key);
    const Call* live_or_recent(const std::string& key) const;

    std::size_t size() const { return calls_.size(); }
    std::vector<const Call*> all() const;
    const std::deque<Call>& recent() const { return recent_; }  // oldest first

  private:
    std::map<std::string, Call> calls_;  // by key; ordered so listings are stable
    std::unordered_map<std::string, std::string> by_channel_;
    std::unordered_map<std::string, std::string> by_call_id_;
    std::unordered_map<std::string, std::set<std::string>> by_dn_;
    std::deque<Call> recent_;
    std::size_t recent_capacity_;
};

}  // namespace talkgate::flow
