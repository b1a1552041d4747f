#pragma once

#include "parsed.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace talkgate::intake {

// An IPv4 or IPv6 address as carried in HEP chunks, without a dependency on a network library
// (the parsers also build standalone for fuzzing).
struct IpAddress {
    enum class Family : std::uint8_t { none, v4, v6 };
    Family family = Family::none;
    std::array<std::uint8_t, 16> bytes{};  // v4 uses the first 4

    // Dotted or RFC 5952 text; nullopt-like Family::none when `text` is not an address.
    static IpAddress from_string(std::string_view text);
    std::string to_string() const;
    bool operator==(const IpAddress& other) const;
    bool operator!=(const IpAddress& other) const { return !(*this == other); }
};

// One HEP v3 datagram, decoded. Views point into the datagram the packet was parsed from.
struct HepPacket {
    std::uint8_t ip_family = 0;       // chunk 0x01: 2 = IPv4, 10 = IPv6
    std::uint8_t ip_protocol = 0;     // chunk 0x02: 17 = UDP, 6 = TCP
    IpAddress src_ip;                 // chunk 0x03 or 0x05
    IpAddress dst_ip;                 // chunk 0x04 or 0x06
    std::uint16_t src_port = 0;       // chunk 0x07
    std::uint16_t dst_port = 0;       // chunk 0x08
    std::uint32_t ts_sec = 0;         // chunk 0x09
    std::uint32_t ts_usec = 0;        // chunk 0x0a
    std::uint8_t proto_type = 0;      // chunk 0x0b: 1 = SIP
    std::uint32_t capture_id = 0;     // chunk 0x0c
    std::string_view auth_key;        // chunk 0x0e, the capture password
    std::string_view payload;         // chunk 0x0f
    bool payload_compressed = false;  // chunk 0x10 instead of 0x0f (not decoded)
    std::string_view correlation_id;  // chunk 0x11

    static constexpr std::uint8_t kProtoSip = 1;

    // "ip:port" of the captured packet's sender ("[ip]:port" for IPv6).
    std::string source_address() const;
};

// Decodes a HEP v3 datagram. Strict about structure: magic "HEP3", total length within the
// datagram, every chunk length within the total, fixed-size chunks of their exact size, a
// payload chunk present. Unknown chunk types and vendor chunks are skipped.
Parsed<HepPacket> parse_hep(std::string_view datagram);
// The packet's views point into the datagram: a temporary would leave them dangling.
Parsed<HepPacket> parse_hep(std::string&& datagram) = delete;

}  // namespace talkgate::intake
