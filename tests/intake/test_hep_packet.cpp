// HEP v3 decoding: real datagrams captured from the lab's Asterisk 22 and hostile ones.
#include "intake/hep_packet.hpp"
#include "intake_hep_builder.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

namespace {

using talkgate::intake::IpAddress;
using talkgate::intake::parse_hep;
using talkgate::test::append_hep_chunk;
using talkgate::test::hep_frame;
using talkgate::test::hep_u16;
using talkgate::test::HepBuilder;

std::string read_data(const std::string& name) {
    std::ifstream in(std::string(INTAKE_DATA_DIR) + "/" + name, std::ios::binary);
    if (!in) throw std::runtime_error("missing test data " + name);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(HepPacket, DecodesADatagramCapturedFromAsterisk22) {
    const std::string d = read_data("asterisk22_notify_in.hep");
    auto p = parse_hep(d);
    ASSERT_TRUE(p) << p.error();
    EXPECT_EQ(p->ip_family, 2);
    EXPECT_EQ(p->ip_protocol, 17);
    EXPECT_EQ(p->src_ip.to_string(), "127.0.0.2");
    EXPECT_EQ(p->dst_ip.to_string(), "127.0.0.1");
    EXPECT_EQ(p->dst_port, 29060);
    EXPECT_NE(p->src_port, 0);
    EXPECT_EQ(p->proto_type, 1);
    EXPECT_EQ(p->capture_id, 1234u);
    EXPECT_NE(p->ts_sec, 0u);
    EXPECT_EQ(p->correlation_id, "capture-call-1@127.0.0.2");
    EXPECT_EQ(p->payload.substr(0, 12), "NOTIFY sip:1");
    EXPECT_EQ(p->payload.substr(p->payload.size() - 4), "\r\n\r\n");
    EXPECT_FALSE(p->payload_compressed);
    EXPECT_EQ(p->source_address(), "127.0.0.2:" + std::to_string(p->src_port));
}

TEST(HepPacket, DecodesWhatItsBuilderEncodes) {
    HepBuilder b;
    b.src_ip = "10.1.2.3";
    b.src_port = 5070;
    b.password = "s3cret";
    b.correlation_id = "abc";
    const std::string datagram = b.build("OPTIONS sip:x SIP/2.0\r\n\r\n");  // p's views point here
    auto p = parse_hep(datagram);
    ASSERT_TRUE(p) << p.error();
    EXPECT_EQ(p->source_address(), "10.1.2.3:5070");
    EXPECT_EQ(p->auth_key, "s3cret");
    EXPECT_EQ(p->correlation_id, "abc");
    EXPECT_EQ(p->payload, "OPTIONS sip:x SIP/2.0\r\n\r\n");
}

TEST(HepPacket, DecodesIpv6Addresses) {
    std::string c;
    append_hep_chunk(c, 0, 0x01, std::string(1, '\x0a'));
    const IpAddress src = IpAddress::from_string("2001:db8::1");
    const IpAddress dst = IpAddress::from_string("::1");
    append_hep_chunk(c, 0, 0x05, std::string(reinterpret_cast<const char*>(src.bytes.data()), 16));
    append_hep_chunk(c, 0, 0x06, std::string(reinterpret_cast<const char*>(dst.bytes.data()), 16));
    append_hep_chunk(c, 0, 0x07, hep_u16(5060));
    append_hep_chunk(c, 0, 0x0f, "x");
    const std::string datagram = hep_frame(c);  // p's views point here
    auto p = parse_hep(datagram);
    ASSERT_TRUE(p) << p.error();
    EXPECT_EQ(p->src_ip, src);
    EXPECT_EQ(p->dst_ip, dst);
    EXPECT_EQ(p->source_address(), "[2001:db8::1]:5060");
}

TEST(HepPacket, SkipsUnknownAndVendorChunks) {
    std::string c;
    append_hep_chunk(c, 0, 0x13, "node-name");
    append_hep_chunk(c, 0x0003, 0x0f, "vendor payload is not ours");
    append_hep_chunk(c, 0, 0x0f, "payload");
    const std::string datagram = hep_frame(c);  // p's views point here
    auto p = parse_hep(datagram);
    ASSERT_TRUE(p) << p.error();
    EXPECT_EQ(p->payload, "payload");
}

TEST(HepPacket, TrailingBytesAfterTheTotalLengthAreIgnored) {
    const std::string datagram = HepBuilder().build("x") + "garbage";
    auto p = parse_hep(datagram);
    ASSERT_TRUE(p) << p.error();
    EXPECT_EQ(p->payload, "x");
}

struct Hostile {
    const char* name;
    std::string datagram;
    const char* error_contains;
};

std::vector<Hostile> hostile_datagrams() {
    const std::string good = HepBuilder().build("NOTIFY");
    std::vector<Hostile> v;
    v.push_back({"empty", "", "shorter"});
    v.push_back({"magic only", "HEP3", "shorter"});
    v.push_back({"HEP2 magic", "HEP2" + good.substr(4), "magic"});
    v.push_back({"total below header", "HEP3" + hep_u16(3) + good.substr(6), "below header"});
    std::string past = good;
    past[4] = '\x7f';
    v.push_back({"total length past datagram", past, "past the datagram"});
    v.push_back({"truncated datagram", good.substr(0, good.size() - 3), "past the datagram"});
    // the total length is adjusted, so the last chunk's own length points past the packet
    std::string cut = good.substr(0, good.size() - 3);
    cut[4] = static_cast<char>(cut.size() >> 8);
    cut[5] = static_cast<char>(cut.size() & 0xff);
    v.push_back({"chunk length past packet", cut, "chunk length past the packet"});
    std::string half_header = hep_frame(std::string("\x00\x00\x00", 3));
    v.push_back({"truncated chunk header", half_header, "truncated chunk header"});
    std::string tiny;
    tiny += std::string("\x00\x00\x00\x0f\x00\x04", 6);
    v.push_back({"chunk length below 6", hep_frame(tiny), "below 6"});
    std::string bad_ip;
    append_hep_chunk(bad_ip, 0, 0x03, "123");
    append_hep_chunk(bad_ip, 0, 0x0f, "x");
    v.push_back({"IPv4 chunk of 3 bytes", hep_frame(bad_ip), "bad length"});
    std::string bad_port;
    append_hep_chunk(bad_port, 0, 0x07, "123");
    append_hep_chunk(bad_port, 0, 0x0f, "x");
    v.push_back({"port chunk of 3 bytes", hep_frame(bad_port), "bad length"});
    std::string no_payload;
    append_hep_chunk(no_payload, 0, 0x0b, "\x01");
    v.push_back({"no payload", hep_frame(no_payload), "no payload"});
    std::string two_payloads;
    append_hep_chunk(two_payloads, 0, 0x0f, "a");
    append_hep_chunk(two_payloads, 0, 0x0f, "b");
    v.push_back({"two payloads", hep_frame(two_payloads), "second payload"});
    return v;
}

TEST(HepPacket, RefusesHostileDatagramsWithAReason) {
    for (const auto& h : hostile_datagrams()) {
        auto p = parse_hep(h.datagram);
        EXPECT_FALSE(p) << h.name;
        EXPECT_NE(p.error().find(h.error_contains), std::string::npos)
            << h.name << ": error was '" << p.error() << "'";
    }
}

TEST(HepPacket, EveryPrefixOfARealDatagramIsRefusedWithoutCrashing) {
    const std::string d = read_data("asterisk22_notify_in.hep");
    for (std::size_t n = 0; n < d.size(); ++n) {
        EXPECT_FALSE(parse_hep(std::string_view(d.data(), n))) << "prefix of " << n << " bytes";
    }
}

TEST(IpAddress, ParsesAndComparesAddresses) {
    EXPECT_EQ(IpAddress::from_string("127.0.0.2"), IpAddress::from_string("127.0.0.2"));
    EXPECT_NE(IpAddress::from_string("127.0.0.2"), IpAddress::from_string("127.0.0.3"));
    EXPECT_EQ(IpAddress::from_string("::1").to_string(), "::1");
    EXPECT_EQ(IpAddress::from_string("genesys.example").family, IpAddress::Family::none);
    EXPECT_EQ(IpAddress::from_string("").family, IpAddress::Family::none);
    EXPECT_EQ(IpAddress::from_string(std::string(100, '1')).family, IpAddress::Family::none);
}

}  // namespace
