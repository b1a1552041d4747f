#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace talkgate::ami {

// Everything the AMI client needs to know. `secret` is never logged.
struct Settings {
    std::string host = "127.0.0.1";
    std::uint16_t port = 5038;
    std::string username;
    std::string secret;
    // Login's "Events:" mask: the classes the controller needs (Newchannel/Hangup are "call",
    // UserEvent "user", FullyBooted/Shutdown "system"); "off" for none, "on" for all.
    std::string events = "system,call,user";

    std::chrono::milliseconds connect_timeout{5000};      // TCP connect + banner + Login reply
    std::chrono::milliseconds action_timeout{5000};       // default deadline of one action
    std::chrono::milliseconds keepalive_interval{10000};  // idle Ping period; 0 disables
    std::chrono::milliseconds pong_deadline{3000};   // a keepalive Ping unanswered this long: drop
    std::chrono::milliseconds reconnect_min{500};    // first retry delay
    std::chrono::milliseconds reconnect_max{30000};  // cap, and the delay after a failed Login
    double reconnect_jitter = 0.2;                   // each delay is reduced by up to this share
    std::size_t max_frame_bytes = 256 * 1024;        // one AMI message larger than this: drop
    std::size_t max_pending_actions = 1024;          // actions in flight beyond this: overloaded
    // Runs once per exception an event, state or action callback threw (e.g. to count it).
    std::function<void()> on_handler_error;
};

// Delay before reconnect attempt `attempt` (0 = first retry): min * 2^attempt capped at max,
// reduced by jitter * unit_random (unit_random in [0, 1)).
std::chrono::milliseconds backoff_delay(unsigned attempt, const Settings& settings,
                                        double unit_random);

}  // namespace talkgate::ami
