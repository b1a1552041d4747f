#pragma once

// Builds HEP v3 datagrams for the intake's tests, fuzz seeds and benchmark (header-only, so
// the benchmark can use it without the test support library).
#include <arpa/inet.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace talkgate::test {

// Appends one chunk (vendor, type, 6-byte header + value) in network byte order.
inline void append_hep_chunk(std::string& out, std::uint16_t vendor, std::uint16_t type,
                             std::string_view value) {
    const auto len = static_cast<std::uint16_t>(value.size() + 6);
    const unsigned char h[6] = {
        static_cast<unsigned char>(vendor >> 8), static_cast<unsigned char>(vendor & 0xff),
        static_cast<unsigned char>(type >> 8),   static_cast<unsigned char>(type & 0xff),
        static_cast<unsigned char>(len >> 8),    static_cast<unsigned char>(len & 0xff)};
    out.append(reinterpret_cast<const char*>(h), 6);
    out.append(value);
}

inline std::string hep_u8(std::uint8_t v) {
    return std::string(1, static_cast<char>(v));
}
inline std::string hep_u16(std::uint16_t v) {
    return {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)};
}
inline std::string hep_u32(std::uint32_t v) {
    return {static_cast<char>(v >> 24), static_cast<char>((v >> 16) & 0xff),
            static_cast<char>((v >> 8) & 0xff), static_cast<char>(v & 0xff)};
}

// "HEP3" + total length + the chunks; the total length is computed from `chunks`.
inline std::string hep_frame(const std::string& chunks) {
    std::string out = "HEP3" + hep_u16(static_cast<std::uint16_t>(chunks.size() + 6));
    return out + chunks;
}

// The chunks Asterisk's res_hep sends for one SIP message over IPv4 UDP.
struct HepBuilder {
    std::string src_ip = "127.0.0.2";
    std::uint16_t src_port = 5060;
    std::string dst_ip = "127.0.0.1";
    std::uint16_t dst_port = 5060;
    std::uint8_t proto_type = 1;  // SIP
    std::string password;         // chunk 0x0e when not empty
    std::string correlation_id;   // chunk 0x11 when not empty

    std::string chunks(std::string_view payload) const {
        std::string c;
        append_hep_chunk(c, 0, 0x01, hep_u8(2));
        append_hep_chunk(c, 0, 0x02, hep_u8(17));
        append_hep_chunk(c, 0, 0x03, ipv4(src_ip));
        append_hep_chunk(c, 0, 0x04, ipv4(dst_ip));
        append_hep_chunk(c, 0, 0x07, hep_u16(src_port));
        append_hep_chunk(c, 0, 0x08, hep_u16(dst_port));
        append_hep_chunk(c, 0, 0x09, hep_u32(1763766000));
        append_hep_chunk(c, 0, 0x0a, hep_u32(123456));
        append_hep_chunk(c, 0, 0x0b, hep_u8(proto_type));
        append_hep_chunk(c, 0, 0x0c, hep_u32(1234));
        if (!password.empty()) append_hep_chunk(c, 0, 0x0e, password);
        if (!correlation_id.empty()) append_hep_chunk(c, 0, 0x11, correlation_id);
        append_hep_chunk(c, 0, 0x0f, payload);
        return c;
    }
    std::string build(std::string_view payload) const { return hep_frame(chunks(payload)); }

    static std::string ipv4(const std::string& text) {
        unsigned char b[4];
        if (::inet_pton(AF_INET, text.c_str(), b) != 1) throw std::invalid_argument(text);
        return std::string(reinterpret_cast<const char*>(b), 4);
    }
};

// A NOTIFY as Genesys SIP Server sends it inside the ringing dialog.
inline std::string genesys_notify(const std::string& call_id, unsigned cseq,
                                  const std::string& event = "talk", const std::string& dn = "1002",
                                  const std::string& uuid = "01GENESYSCALLUUID0000000001") {
    return "NOTIFY sip:" + dn +
           "@127.0.0.1:5060 SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK-" +
           call_id + "-" + std::to_string(cseq) +
           "\r\n"
           "From: <sip:genesys@127.0.0.2:5060>;tag=gen-tag-1\r\n"
           "To: <sip:" +
           dn +
           "@127.0.0.1:5060>;tag=ast-tag-2\r\n"
           "Call-ID: " +
           call_id +
           "\r\n"
           "CSeq: " +
           std::to_string(cseq) +
           " NOTIFY\r\n"
           "Contact: <sip:genesys@127.0.0.2:5060>\r\n"
           "Max-Forwards: 70\r\n"
           "Event: " +
           event +
           "\r\n"
           "Subscription-State: active\r\n"
           "X-Genesys-CallUUID: " +
           uuid +
           "\r\n"
           "Content-Length: 0\r\n"
           "\r\n";
}

}  // namespace talkgate::test
