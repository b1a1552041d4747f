#include "lab_env.hpp"

namespace talkgate::test {

// The one translation unit that knows the checkout's absolute path: a compile definition
// seen by every test would make each clone's build miss ccache.
const std::string& source_dir() {
    static const std::string dir = TALKGATE_SOURCE_DIR;
    return dir;
}

}  // namespace talkgate::test
