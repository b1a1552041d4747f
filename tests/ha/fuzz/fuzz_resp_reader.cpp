// Redis replies as a peer could send them, in two reads split where the first byte says:
// every reply or error comes out of RespReader, nothing escapes as an exception or a crash.
#include "ha/resp_reader.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    talkgate::ha::RespReader::Limits limits;
    limits.max_pending_bytes = 64 * 1024;
    limits.max_array_elements = 4096;
    try {
        talkgate::ha::RespReader reader(limits);
        const char* text = reinterpret_cast<const char*>(data + 1);
        const std::size_t rest = size - 1;
        const std::size_t split = rest ? data[0] % (rest + 1) : 0;
        std::size_t replies = 0;
        for (auto [from, len] : {std::pair{text, split}, std::pair{text + split, rest - split}}) {
            if (!reader.feed(from, len)) break;
            while (auto reply = reader.next()) ++replies;
        }
        if (replies > size) std::abort();  // a reply needs at least 3 bytes
    } catch (...) {
        std::abort();
    }
    return 0;
}
