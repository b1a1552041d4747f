#pragma once

#include "hep_packet.hpp"
#include "notify_deduplicator.hpp"
#include "notify_event.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace talkgate::intake {

// Why a HEP datagram was refused.
enum class HepReject : std::uint8_t {
    unknown_agent,  // the datagram's sender is not an allowed capture agent
    malformed_hep,  // not valid HEP v3 (or a compressed payload, which we do not decode)
    bad_password,   // capture password configured and chunk 0x0e missing or different
    malformed_sip,  // the SIP payload does not parse
    not_genesys,    // a NOTIFY whose SIP source is not one of the Genesys SIP hosts
    bad_notify,     // a Genesys NOTIFY without Event, without a DN in To, or an absurd Call-ID
};
inline constexpr std::size_t kHepRejectCount = 6;
const char* to_string(HepReject reason);

// What the HEP intake has seen since it started.
struct HepCounters {
    std::uint64_t datagrams = 0;  // every datagram received
    std::uint64_t parsed = 0;     // valid HEP carrying a SIP message that parsed
    std::array<std::uint64_t, kHepRejectCount> rejected{};  // by HepReject
    std::uint64_t notifies = 0;                             // NotifyEvents delivered
    std::uint64_t duplicates = 0;                           // retransmitted NOTIFY copies dropped
    std::uint64_t non_notify_ignored = 0;  // SIP other than NOTIFY (Asterisk copies all SIP)
    std::uint64_t non_sip_ignored = 0;     // HEP payloads that are not SIP

    std::uint64_t rejected_total() const;
    std::uint64_t rejected_for(HepReject reason) const {
        return rejected[static_cast<std::size_t>(reason)];
    }
};

struct HepIntakeSettings {
    // Capture agents (Asterisk hosts) allowed to send HEP.
    std::vector<IpAddress> allowed_agents{IpAddress::from_string("127.0.0.1")};
    // When not empty, chunk 0x0e must carry exactly this.
    std::string capture_password;
    // Only NOTIFYs whose SIP source IP is one of these are accepted; empty accepts none.
    std::vector<IpAddress> genesys_hosts;
    NotifyDeduplicator::Settings dedupe;
    // Off where one de-duplicator sees every source (the controller's NotifyGate): a
    // retransmission then reaches it and is counted there, like a copy from AMI or ARI.
    bool deduplicate = true;
};

// Parses "a.b.c.d" / IPv6 entries (surrounding blanks allowed); false with `error` naming the
// first entry that is not an IP address.
bool parse_ip_list(const std::vector<std::string>& items, std::vector<IpAddress>& out,
                   std::string& error);

// The per-datagram logic of the HEP listener, without a socket: agent check, HEP parse,
// password, SIP parse, Genesys source check, de-duplication, NotifyEvent. Used by HepListener,
// the tests and the benchmark. Not thread-safe (one per listener, on its executor).
class HepIntake {
  public:
    struct Outcome {
        enum class Kind { notify, duplicate, ignored, rejected };
        Kind kind = Kind::ignored;
        std::optional<NotifyEvent> event;  // kind == notify
        HepReject reject{};                // kind == rejected
        std::string detail;                // kind == rejected: why, for the log (no secrets)
    };

    explicit HepIntake(HepIntakeSettings settings);

    // One datagram received from capture agent `agent` at `now`.
    Outcome process(std::string_view datagram, const IpAddress& agent,
                    std::chrono::steady_clock::time_point now);

    const HepCounters& counters() const { return counters_; }
    const NotifyDeduplicator& deduplicator() const { return dedupe_; }

    // Longest Call-ID accepted: keeps the de-duplicator's memory bounded.
    static constexpr std::size_t kMaxCallIdLength = 256;

  private:
    Outcome reject(HepReject reason, std::string detail);

    HepIntakeSettings settings_;
    NotifyDeduplicator dedupe_;
    HepCounters counters_;
};

}  // namespace talkgate::intake
