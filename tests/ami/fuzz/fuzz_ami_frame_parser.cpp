// libFuzzer target: the AMI frame parser must never crash, must keep its memory bound, must
// only produce well-formed fields, and must give the same result however the input is split.
#include "ami/frame_parser.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

using talkgate::ami::FrameParser;
using talkgate::ami::ParseOutput;

constexpr std::size_t kBound = 512;

void check(bool condition) {
    if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    // The first byte picks the chunk size, the rest is the stream.
    const std::size_t chunk = 1 + data[0] % 17;
    const std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);

    FrameParser whole(kBound);
    ParseOutput one;
    const bool whole_ok = whole.feed(stream, one);

    FrameParser split(kBound);
    ParseOutput many;
    bool split_ok = true;
    for (std::size_t at = 0; at < stream.size() && split_ok; at += chunk) {
        split_ok = split.feed(stream.substr(at, chunk), many);
        check(split.pending_bytes() <= kBound);
    }

    check(whole_ok == split_ok);
    check(whole.failed() == !whole_ok);
    check(one.banner == many.banner);
    check(one.malformed_frames == many.malformed_frames);
    check(one.messages.size() == many.messages.size());
    for (std::size_t i = 0; i < one.messages.size(); ++i) {
        check(one.messages[i].fields() == many.messages[i].fields());
        check(!one.messages[i].empty());
        for (const auto& [key, value] : one.messages[i].fields()) {
            check(!key.empty());
            check(key.find_first_of(":\n") == std::string_view::npos);
            check(value.find('\n') == std::string_view::npos);
            check(key.size() + value.size() < kBound);
        }
    }
    return 0;
}
