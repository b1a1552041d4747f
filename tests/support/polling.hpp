#pragma once
// The tests' bounded poll loops: wait_until() sleeps between checks of a condition another
// thread makes true; run_io_until() runs a test's own io_context in slices until a condition
// holds (with a work guard, so run_for waits for completions other threads post).
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <thread>

namespace talkgate::test {

// Checks `done` every `poll` until `deadline`; true when it held.
template <class F>
bool wait_until(F&& done, std::chrono::milliseconds deadline,
                std::chrono::milliseconds poll = std::chrono::milliseconds(100)) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    for (int i = 0; i < 100000 && std::chrono::steady_clock::now() < end; ++i) {
        if (done()) return true;
        std::this_thread::sleep_for(poll);
    }
    return done();
}

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
