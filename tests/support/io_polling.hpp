#pragma once
// Runs a test's io_context in bounded slices until a condition holds: the one sleep-free poll
// loop for tests that drive an io_context on their own thread (with a work guard, so run_for
// waits for completions other threads post).
#include <boost/asio/io_context.hpp>

#include <chrono>

namespace talkgate::test {

// At most `slices` slices of `slice` each; true when `done` held.
template <class F>
bool run_io_until(boost::asio::io_context& io, F&& done, int slices = 500,
                  std::chrono::milliseconds slice = std::chrono::milliseconds(10)) {
    for (int i = 0; i < slices && !done(); ++i) {
        io.restart();
        io.run_for(slice);
    }
    return done();
}

// Runs io for `slices` slices whatever happens: lets what would come, come.
inline void run_io_for(boost::asio::io_context& io, int slices,
                       std::chrono::milliseconds slice = std::chrono::milliseconds(10)) {
    run_io_until(
        io, [] { return false; }, slices, slice);
}

}  // namespace talkgate::test
