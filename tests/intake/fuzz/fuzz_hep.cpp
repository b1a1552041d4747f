// libFuzzer target: a datagram through the HEP listener's whole per-datagram path (HEP decode,
// password, SIP parse, Genesys check, de-duplication, NotifyEvent).
#include "intake/hep_intake.hpp"
#include "intake/hep_packet.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace talkgate::intake;
    const std::string_view datagram(reinterpret_cast<const char*>(data), size);

    auto hep = parse_hep(datagram);
    if (hep) {
        // every view must lie inside the datagram
        const auto inside = [&](std::string_view v) {
            return v.empty() || (v.data() >= datagram.data() &&
                                 v.data() + v.size() <= datagram.data() + datagram.size());
        };
        if (!inside(hep->payload) || !inside(hep->auth_key) || !inside(hep->correlation_id)) {
            __builtin_trap();
        }
        (void)hep->source_address();
    } else if (hep.error().empty()) {
        __builtin_trap();
    }

    HepIntakeSettings settings;
    settings.genesys_hosts = {IpAddress::from_string("127.0.0.2")};
    settings.dedupe.capacity = 8;
    HepIntake intake(settings);
    const auto agent = IpAddress::from_string("127.0.0.1");
    const auto now = std::chrono::steady_clock::now();
    auto first = intake.process(datagram, agent, now);
    auto second = intake.process(datagram, agent, now);
    // the same datagram twice: a NOTIFY the first time is a duplicate the second time
    if (first.kind == HepIntake::Outcome::Kind::notify &&
        second.kind != HepIntake::Outcome::Kind::duplicate) {
        __builtin_trap();
    }
    return 0;
}
