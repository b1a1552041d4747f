#include "flow/call_registry.hpp"

namespace talkgate::flow {

Call& CallRegistry::add(Call call) {
    const std::string key = call.key;
    by_channel_[call.genesys_channel] = key;
    if (!call.agent_channel.empty()) by_channel_[call.agent_channel] = key;
    if (!call.call_id.empty()) by_call_id_[call.call_id] = key;
    by_dn_[call.dn].insert(key);
    auto [it, inserted] = calls_.insert_or_assign(key, std::move(call));
    return it->second;
}

void CallRegistry::set_agent_channel(Call& call, const std::string& agent_channel) {
    if (!call.agent_channel.empty()) by_channel_.erase(call.agent_channel);
    call.agent_channel = agent_channel;
    if (!agent_channel.empty()) by_channel_[agent_channel] = call.key;
}

void CallRegistry::remove(const std::string& key) {
    auto it = calls_.find(key);
    if (it == calls_.end()) return;
    Call& call = it->second;
    by_channel_.erase(call.genesys_channel);
    if (!call.agent_channel.empty()) by_channel_.erase(call.agent_channel);
    auto cid = by_call_id_.find(call.call_id);
    if (cid != by_call_id_.end() && cid->second == key) by_call_id_.erase(cid);
    auto dn = by_dn_.find(call.dn);
    if (dn != by_dn_.end()) {
        dn->second.erase(key);
        if (dn->second.empty()) by_dn_.erase(dn);
    }
    if (recent_capacity_ > 0) recent_.push_back(std::move(call));
    while (recent_.size() > recent_capacity_) recent_.pop_front();
    calls_.erase(it);
}

Call* CallRegistry::by_key(const std::string& key) {
    auto it = calls_.find(key);
    return it == calls_.end() ? nullptr : &it->second;
}

const Call* CallRegistry::find(const std::string& key) const {
    auto it = calls_.find(key);
    return it == calls_.end() ? nullptr : &it->second;
}

Call* CallRegistry::by_channel(const std::string& channel_id) {
    auto it = by_channel_.find(channel_id);
    return it == by_channel_.end() ? nullptr : by_key(it->second);
}

Call* CallRegistry::by_call_id(const std::string& call_id) {
    auto it = by_call_id_.find(call_id);
    return it == by_call_id_.end() ? nullptr : by_key(it->second);
}

std::vector<Call*> CallRegistry::by_dn(const std::string& dn) {
    std::vector<Call*> out;
    auto it = by_dn_.find(dn);
    if (it == by_dn_.end()) return out;
    for (const auto& key : it->second) {
        if (Call* c = by_key(key)) out.push_back(c);
    }
    return out;
}

Call* CallRegistry::live_or_recent(const std::string& key) {
    if (Call* c = by_key(key)) return c;
    for (auto it = recent_.rbegin(); it != recent_.rend(); ++it) {
        if (it->key == key) return &*it;
    }
    return nullptr;
}

const Call* CallRegistry::live_or_recent(const std::string& key) const {
    return const_cast<CallRegistry*>(this)->live_or_recent(key);
}

std::vector<const Call*> CallRegistry::all() const {
    std::vector<const Call*> out;
    out.reserve(calls_.size());
    for (const auto& [key, call] : calls_) out.push_back(&call);
    return out;
}

}  // namespace talkgate::flow
