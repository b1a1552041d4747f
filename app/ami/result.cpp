#include "ami/result.hpp"

namespace talkgate::ami {

const char* to_string(Error::Kind kind) {
    switch (kind) {
        case Error::Kind::asterisk:
            return "asterisk";
        case Error::Kind::timeout:
            return "timeout";
        case Error::Kind::disconnected:
            return "disconnected";
        case Error::Kind::not_connected:
            return "not connected";
        case Error::Kind::invalid:
            return "invalid";
        case Error::Kind::overloaded:
            return "overloaded";
        case Error::Kind::stopped:
            return "stopped";
    }
    return "unknown";
}

std::string Error::describe() const {
    return std::string(to_string(kind)) + ": " + message;
}

}  // namespace talkgate::ami
