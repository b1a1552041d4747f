// libFuzzer target: configuration. The bytes are KEY=VALUE lines for every known key (the
// first line's key picks one when it is unknown); load_config gives a config or one line per
// problem, describe() prints it, and no exception escapes.
#include "config/config.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        talkgate::Settings s{{"ARI_USER", "ari"},
                             {"ARI_PASSWORD", "fuzz-ari-password"},
                             {"ASTERISK_AMI_USER", "ami"},
                             {"ASTERISK_AMI_SECRET", "fuzz-ami-secret"},
                             {"GENESYS_SIP_HOST", "127.0.0.2"}};
        const auto& infos = talkgate::setting_infos();
        std::size_t start = 0;
        std::size_t n = 0;
        while (start <= text.size()) {
            auto end = text.find('\n', start);
            if (end == std::string::npos) end = text.size();
            const std::string line = text.substr(start, end - start);
            const auto eq = line.find('=');
            if (eq != std::string::npos)
                s[line.substr(0, eq)] = line.substr(eq + 1);
            else
                s[infos[n % infos.size()].key] = line;
            ++n;
            start = end + 1;
        }
        auto r = talkgate::load_config(s);
        if (r.config.has_value() == !r.errors.empty()) __builtin_trap();
        if (r.config) (void)talkgate::describe(*r.config);
    } catch (...) {
        __builtin_trap();
    }
    return 0;
}
