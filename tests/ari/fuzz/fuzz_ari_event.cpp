// libFuzzer target: ARI event decoding. Whatever the bytes, decode_event returns an event or
// an error; no exception escapes (the target fails on any), and a decoded event's base is
// readable.
#include <ari/events.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        auto e = ari::decode_event(text);
        if (!e) {
            if (e.error().message.empty()) __builtin_trap();
            return 0;
        }
        if (ari::event_base(e.value()).type.empty()) __builtin_trap();
    } catch (...) {
        __builtin_trap();  // an exception here is what once ended talkgate
    }
    return 0;
}
