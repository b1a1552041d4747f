// Values from the wire at the intake's edge: charset checks, log escaping, safe JSON, and the
// issue 11 bytes (a non-UTF-8 X-Genesys-CallUUID) through SIP, HEP and user events.
#include "intake/hep_intake.hpp"
#include "intake/notify_event.hpp"
#include "intake/sip_message.hpp"
#include "intake/user_event_source.hpp"
#include "intake_hep_builder.hpp"
#include "wire/json_text.hpp"
#include "wire/wire_text.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace talkgate::intake {
namespace {

const std::string kBadUuid("\xe9\xff", 2);

TEST(WireText, Utf8IsCheckedByteByByte) {
    EXPECT_TRUE(wire::is_utf8("plain"));
    EXPECT_TRUE(wire::is_utf8("caf\xc3\xa9"));
    EXPECT_TRUE(wire::is_utf8("\xf0\x9f\x98\x80"));
    EXPECT_FALSE(wire::is_utf8(kBadUuid));
    EXPECT_FALSE(wire::is_utf8("\xc3"));              // truncated
    EXPECT_FALSE(wire::is_utf8("\xc0\xaf"));          // overlong
    EXPECT_FALSE(wire::is_utf8("\xed\xa0\x80"));      // surrogate
    EXPECT_FALSE(wire::is_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
}

TEST(WireText, EscapedKeepsControlBytesOutOfLogLines) {
    EXPECT_EQ(wire::escaped(kBadUuid), "\\xe9\\xff");
    EXPECT_EQ(wire::escaped("a\r\nforged line"), "a\\x0d\\x0aforged line");
    EXPECT_EQ(wire::escaped("back\\slash"), "back\\x5cslash");
    EXPECT_EQ(wire::escaped(std::string(300, 'x'), 10), "xxxxxxxxxx...");
}

TEST(WireText, JsonTextNeverThrows) {
    nlohmann::json j{{"call_uuid", kBadUuid}};
    EXPECT_THROW((void)j.dump(), nlohmann::json::type_error);  // what once ended the process
    std::string text;
    EXPECT_NO_THROW(text = wire::json_text(j));
    EXPECT_FALSE(nlohmann::json::parse(text, nullptr, false).is_discarded());
}

TEST(WireText, FieldShapes) {
    EXPECT_TRUE(wire::valid_dn("1002"));
    EXPECT_TRUE(wire::valid_dn("+33_1#*.-x"));
    EXPECT_FALSE(wire::valid_dn(""));
    EXPECT_FALSE(wire::valid_dn("10\xe9"));
    EXPECT_FALSE(wire::valid_dn(std::string(33, '1')));
    EXPECT_TRUE(wire::valid_call_uuid("UIVB8J6JE91C53UIM3VI59VHQ400001R"));
    EXPECT_FALSE(wire::valid_call_uuid(kBadUuid));
    EXPECT_FALSE(wire::valid_call_uuid("with space"));
    EXPECT_FALSE(wire::valid_call_uuid(std::string(129, 'A')));
    EXPECT_TRUE(wire::valid_call_id("abc@127.0.0.2"));
    EXPECT_FALSE(wire::valid_call_id("abc\x01"));
}

TEST(NotifyFromSip, NonUtf8CallUuidIsDroppedAndTheNotifyKept) {
    const auto text = test::genesys_notify("cid-1@127.0.0.2", 2, "talk", "1002", kBadUuid);
    auto msg = parse_sip(text);
    ASSERT_TRUE(msg) << msg.error();
    auto n = notify_from_sip(*msg, NotifySource::hep, "127.0.0.2:5060", {});
    ASSERT_TRUE(n) << n.error();
    EXPECT_EQ(n->call_id, "cid-1@127.0.0.2");
    EXPECT_EQ(n->dn, "1002");
    EXPECT_EQ(n->kind, NotifyKind::talk);
    EXPECT_EQ(n->call_uuid, "");
    EXPECT_EQ(n->dropped_header, "X-Genesys-CallUUID");
}

TEST(NotifyFromSip, GoodCallUuidIsKept) {
    const auto text = test::genesys_notify("cid-1@127.0.0.2", 2);
    auto msg = parse_sip(text);
    ASSERT_TRUE(msg);
    auto n = notify_from_sip(*msg, NotifySource::hep, "127.0.0.2:5060", {});
    ASSERT_TRUE(n);
    EXPECT_EQ(n->call_uuid, "01GENESYSCALLUUID0000000001");
    EXPECT_EQ(n->dropped_header, "");
}

TEST(NotifyFromSip, DnWithBadBytesIsRejected) {
    const auto text = test::genesys_notify("cid-1@127.0.0.2", 2, "talk", "10\xe9");
    auto msg = parse_sip(text);
    ASSERT_TRUE(msg);
    auto n = notify_from_sip(*msg, NotifySource::hep, "127.0.0.2:5060", {});
    ASSERT_FALSE(n);
    EXPECT_NE(n.error().find("\\xe9"), std::string::npos) << "the reason is escaped";
}

TEST(HepIntakeEdge, NonUtf8CallUuidStillDeliversTheNotify) {
    HepIntakeSettings s;
    s.genesys_hosts = {IpAddress::from_string("127.0.0.2")};
    HepIntake intake(s);
    test::HepBuilder b;
    auto o = intake.process(
        b.build(test::genesys_notify("cid-1@127.0.0.2", 2, "talk", "1002", kBadUuid)),
        IpAddress::from_string("127.0.0.1"), {});
    ASSERT_EQ(o.kind, HepIntake::Outcome::Kind::notify) << o.detail;
    EXPECT_EQ(o.event->dropped_header, "X-Genesys-CallUUID");
    EXPECT_EQ(o.event->call_uuid, "");
}

std::vector<std::pair<std::string, std::string>> ami_event(const std::string& dn,
                                                           const std::string& uuid) {
    return {{"Event", "UserEvent"},
            {"Channel", "PJSIP/genesys-00000001"},
            {"Uniqueid", "1700000000.1"},
            {"UserEvent", "GenesysNotify"},
            {"NotifyEvent", "talk"},
            {"CallID", "cid-1@127.0.0.2"},
            {"DN", dn},
            {"CSeq", "2"},
            {"CallUUID", uuid}};
}

TEST(UserEventEdge, AmiNonUtf8CallUuidIsDroppedAndTheChannelKept) {
    std::string err;
    auto n = notify_from_ami_userevent(ami_event("1002", kBadUuid), &err);
    ASSERT_TRUE(n) << err;
    EXPECT_EQ(n->call_uuid, "");
    EXPECT_EQ(n->dropped_header, "CallUUID");
    EXPECT_EQ(n->channel, "1700000000.1");
}

TEST(UserEventEdge, AmiDnWithBadBytesIsRejected) {
    std::string err;
    EXPECT_FALSE(notify_from_ami_userevent(ami_event("10\xff", "U-1"), &err));
    EXPECT_NE(err.find("DN"), std::string::npos) << err;
    EXPECT_EQ(err.find('\xff'), std::string::npos) << "no raw byte in the reason";
}

TEST(UserEventEdge, AriCarriesTheChannelIdAndDropsABadCallUuid) {
    nlohmann::json ev{{"type", "ChannelUserevent"},
                      {"eventname", "GenesysNotify"},
                      {"channel", {{"id", "1700000000.7"}, {"name", "PJSIP/genesys-7"}}},
                      {"userevent",
                       {{"NotifyEvent", "talk"},
                        {"CallID", "cid-7"},
                        {"DN", "1002"},
                        {"CSeq", 3},
                        {"CallUUID", "has space"}}}};
    std::string err;
    auto n = notify_from_ari_userevent(ev, &err);
    ASSERT_TRUE(n) << err;
    EXPECT_EQ(n->channel, "1700000000.7");
    EXPECT_EQ(n->call_uuid, "");
    EXPECT_EQ(n->dropped_header, "CallUUID");
}

TEST(UserEventEdge, AriWrongTypedFieldsAreAnErrorNotACrash) {
    for (const auto& body : {nlohmann::json{{"NotifyEvent", 5}, {"CallID", "c"}, {"DN", "1"}},
                             nlohmann::json{{"CSeq", -1}, {"NotifyEvent", "talk"}},
                             nlohmann::json{{"DN", {{"x", 1}}}}}) {
        nlohmann::json ev{{"type", "ChannelUserevent"},
                          {"eventname", "GenesysNotify"},
                          {"channel", 5},
                          {"userevent", body}};
        std::string err;
        EXPECT_NO_THROW({ EXPECT_FALSE(notify_from_ari_userevent(ev, &err)); });
        EXPECT_FALSE(err.empty()) << body.dump();
    }
}

}  // namespace
}  // namespace talkgate::intake
