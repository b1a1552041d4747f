#pragma once

#include "ami/message.hpp"

#include <ari/result.hpp>

#include <string>
#include <vector>

namespace talkgate::ami {

// Why an action failed.
struct Error {
    enum class Kind {
        asterisk,       // Asterisk answered "Response: Error"; `message` is its Message:
        timeout,        // no complete reply within the action's deadline
        disconnected,   // the connection dropped before the reply; the action is not re-sent
        not_connected,  // sent while not logged in; nothing was written
        invalid,        // the action cannot be written (CR/LF in a field, reserved key, ...)
        overloaded,     // too many actions in flight (Settings::max_pending_actions)
        stopped,        // the client was stopped
    };
    Kind kind = Kind::disconnected;
    std::string message;
    Message response;  // for Kind::asterisk: the whole error response

    std::string describe() const;
};

const char* to_string(Error::Kind kind);

// The reply to an action: the response, plus the items of an EventList action.
struct Reply {
    Message response;
    std::vector<Message> events;  // list items (EventList: start ... Complete), in order
    Message complete;             // the closing "...Complete" event of a list action
};

// A value or an Error; never an exception across an async boundary (the ARI client's type).
template <class T>
using Result = ari::Result<T, Error>;

}  // namespace talkgate::ami
