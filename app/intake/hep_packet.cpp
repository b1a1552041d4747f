#include "hep_packet.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace talkgate::intake {

namespace {

std::uint16_t be16(const unsigned char* p) {
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

std::uint32_t be32(const unsigned char* p) {
    return (static_cast<std::uint32_t>(p[0]) << 24) | (static_cast<std::uint32_t>(p[1]) << 16) |
           (static_cast<std::uint32_t>(p[2]) << 8) | static_cast<std::uint32_t>(p[3]);
}

std::string chunk_error(const char* what, unsigned type, std::size_t offset) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s = what;
    s += " (chunk 0x";
    s += kHex[(type >> 4) & 0xf];
    s += kHex[type & 0xf];
    s += " at offset ";
    s += std::to_string(offset);
    s += ')';
    return s;
}

}  // namespace

IpAddress IpAddress::from_string(std::string_view text) {
    IpAddress a;
    char buf[INET6_ADDRSTRLEN + 1];
    if (text.size() >= sizeof(buf)) return a;
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    if (::inet_pton(AF_INET, buf, a.bytes.data()) == 1) {
        a.family = Family::v4;
    } else if (::inet_pton(AF_INET6, buf, a.bytes.data()) == 1) {
        a.family = Family::v6;
    }
    return a;
}

std::string IpAddress::to_string() const {
    char buf[INET6_ADDRSTRLEN] = {};
    if (family == Family::v4) {
        ::inet_ntop(AF_INET, bytes.data(), buf, sizeof(buf));
    } else if (family == Family::v6) {
        ::inet_ntop(AF_INET6, bytes.data(), buf, sizeof(buf));
    }
    return buf;
}

bool IpAddress::operator==(const IpAddress& other) const {
    if (family != other.family) return false;
    const std::size_t n = family == Family::v4 ? 4 : family == Family::v6 ? 16 : 0;
    return std::memcmp(bytes.data(), other.bytes.data(), n) == 0;
}

std::string HepPacket::source_address() const {
    std::string ip = src_ip.to_string();
    if (src_ip.family == IpAddress::Family::v6) ip = "[" + ip + "]";
    return ip + ":" + std::to_string(src_port);
}

Parsed<HepPacket> parse_hep(std::string_view datagram) {
    using P = Parsed<HepPacket>;
    const auto* data = reinterpret_cast<const unsigned char*>(datagram.data());
    if (datagram.size() < 6) return P::fail("shorter than a HEP header");
    if (std::memcmp(data, "HEP3", 4) != 0) return P::fail("no HEP3 magic");
    const std::size_t total = be16(data + 4);
    if (total < 6) return P::fail("HEP total length below header size");
    if (total > datagram.size()) {
        return P::fail("HEP total length " + std::to_string(total) + " past the datagram (" +
                       std::to_string(datagram.size()) + " bytes)");
    }

    HepPacket pkt;
    bool have_payload = false;
    std::size_t off = 6;
    while (off < total) {
        if (total - off < 6)
            return P::fail("truncated chunk header at offset " + std::to_string(off));
        const unsigned vendor = be16(data + off);
        const unsigned type = be16(data + off + 2);
        const std::size_t len = be16(data + off + 4);
        if (len < 6) return P::fail(chunk_error("chunk length below 6", type, off));
        if (len > total - off)
            return P::fail(chunk_error("chunk length past the packet", type, off));
        const unsigned char* v = data + off + 6;
        const std::size_t vlen = len - 6;
        const std::string_view text(reinterpret_cast<const char*>(v), vlen);
        auto need = [&](std::size_t n) { return vlen == n; };
        if (vendor == 0) {
            switch (type) {
                case 0x01:
                    if (!need(1)) return P::fail(chunk_error("bad length", type, off));
                    pkt.ip_family = v[0];
                    break;
                case 0x02:
                    if (!need(1)) return P::fail(chunk_error("bad length", type, off));
                    pkt.ip_protocol = v[0];
                    break;
                case 0x03:
                case 0x04: {
                    if (!need(4)) return P::fail(chunk_error("bad length", type, off));
                    IpAddress& a = type == 0x03 ? pkt.src_ip : pkt.dst_ip;
                    a.family = IpAddress::Family::v4;
                    std::memcpy(a.bytes.data(), v, 4);
                    break;
                }
                case 0x05:
                case 0x06: {
                    if (!need(16)) return P::fail(chunk_error("bad length", type, off));
                    IpAddress& a = type == 0x05 ? pkt.src_ip : pkt.dst_ip;
                    a.family = IpAddress::Family::v6;
                    std::memcpy(a.bytes.data(), v, 16);
                    break;
                }
                case 0x07:
                case 0x08:
                    if (!need(2)) return P::fail(chunk_error("bad length", type, off));
                    (type == 0x07 ? pkt.src_port : pkt.dst_port) = be16(v);
                    break;
                case 0x09:
                case 0x0a:
                    if (!need(4)) return P::fail(chunk_error("bad length", type, off));
                    (type == 0x09 ? pkt.ts_sec : pkt.ts_usec) = be32(v);
                    break;
                case 0x0b:
                    if (!need(1)) return P::fail(chunk_error("bad length", type, off));
                    pkt.proto_type = v[0];
                    break;
                case 0x0c:
                    if (!need(4)) return P::fail(chunk_error("bad length", type, off));
                    pkt.capture_id = be32(v);
                    break;
                case 0x0e:
                    pkt.auth_key = text;
                    break;
                case 0x0f:
                case 0x10:
                    if (have_payload) return P::fail(chunk_error("second payload", type, off));
                    have_payload = true;
                    pkt.payload = text;
                    pkt.payload_compressed = type == 0x10;
                    break;
                case 0x11:
                    pkt.correlation_id = text;
                    break;
                default:
                    break;  // vlan, node name, keep-alive and the rest carry nothing we use
            }
        }
        off += len;
    }
    if (!have_payload) return P::fail("no payload chunk");
    return P::ok(pkt);
}

}  // namespace talkgate::intake
