#pragma once

#include <functional>

namespace ari {

// Where the library runs application code (REST completions, events, connection states),
// e.g. [strand](auto f) { boost::asio::post(strand, std::move(f)); }. Must not block.
using Executor = std::function<void(std::function<void()>)>;

}  // namespace ari
