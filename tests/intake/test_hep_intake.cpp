// The HEP listener's per-datagram logic, without sockets: what is delivered, dropped, ignored
// and rejected, and how each is counted.
#include "intake/hep_intake.hpp"
#include "intake_hep_builder.hpp"

#include <gtest/gtest.h>

namespace {

using talkgate::intake::HepIntake;
using talkgate::intake::HepIntakeSettings;
using talkgate::intake::HepReject;
using talkgate::intake::IpAddress;
using talkgate::intake::NotifyKind;
using talkgate::test::genesys_notify;
using talkgate::test::HepBuilder;
using Kind = HepIntake::Outcome::Kind;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

const IpAddress kAsterisk = IpAddress::from_string("127.0.0.1");

HepIntakeSettings settings() {
    HepIntakeSettings s;
    s.genesys_hosts = {IpAddress::from_string("127.0.0.2"), IpAddress::from_string("10.9.9.9")};
    return s;
}

TEST(HepIntake, DeliversOneNotifyEventPerTransaction) {
    HepIntake intake(settings());
    const auto d = HepBuilder().build(genesys_notify("call-1", 20));
    const auto t0 = Clock::now();
    auto first = intake.process(d, kAsterisk, t0);
    ASSERT_EQ(first.kind, Kind::notify) << first.detail;
    ASSERT_TRUE(first.event);
    EXPECT_EQ(first.event->kind, NotifyKind::talk);
    EXPECT_EQ(first.event->call_id, "call-1");
    EXPECT_EQ(first.event->dn, "1002");
    EXPECT_EQ(first.event->cseq, 20u);
    EXPECT_EQ(first.event->source_address, "127.0.0.2:5060");
    EXPECT_EQ(first.event->received_at, t0);
    for (int i = 1; i <= 5; ++i)
        EXPECT_EQ(intake.process(d, kAsterisk, t0 + i * 1s).kind, Kind::duplicate);
    EXPECT_EQ(
        intake.process(HepBuilder().build(genesys_notify("call-1", 21, "hold")), kAsterisk, t0)
            .kind,
        Kind::notify);
    const auto& c = intake.counters();
    EXPECT_EQ(c.datagrams, 7u);
    EXPECT_EQ(c.parsed, 7u);
    EXPECT_EQ(c.notifies, 2u);
    EXPECT_EQ(c.duplicates, 5u);
    EXPECT_EQ(c.rejected_total(), 0u);
}

TEST(HepIntake, WithoutItsOwnDeduplicationEveryRetransmissionIsDelivered) {
    auto s = settings();
    s.deduplicate = false;  // the controller's NotifyGate de-duplicates instead
    HepIntake intake(s);
    const auto d = HepBuilder().build(genesys_notify("call-1", 20));
    const auto t0 = Clock::now();
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(intake.process(d, kAsterisk, t0 + i * 1s).kind, Kind::notify);
    EXPECT_EQ(intake.counters().duplicates, 0u);
}

TEST(HepIntake, IgnoresNonNotifySipAndNonSipPayloads) {
    HepIntake intake(settings());
    const std::string ringing =
        "SIP/2.0 180 Ringing\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:1002@h>;tag=2\r\nCall-ID: c\r\n"
        "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    EXPECT_EQ(intake.process(HepBuilder().build(ringing), kAsterisk, Clock::now()).kind,
              Kind::ignored);
    HepBuilder rtcp;
    rtcp.proto_type = 5;
    EXPECT_EQ(intake.process(rtcp.build("\x80\xc8"), kAsterisk, Clock::now()).kind, Kind::ignored);
    const auto& c = intake.counters();
    EXPECT_EQ(c.non_notify_ignored, 1u);
    EXPECT_EQ(c.non_sip_ignored, 1u);
    EXPECT_EQ(c.rejected_total(), 0u);
    EXPECT_EQ(c.notifies, 0u);
}

TEST(HepIntake, RejectsAndCountsEachReason) {
    auto s = settings();
    s.capture_password = "hep-secret";
    HepIntake intake(s);
    HepBuilder ok;
    ok.password = "hep-secret";
    const auto now = Clock::now();
    auto expect_reject = [&](const std::string& d, const IpAddress& from, HepReject why) {
        auto o = intake.process(d, from, now);
        EXPECT_EQ(o.kind, Kind::rejected);
        EXPECT_EQ(o.reject, why) << o.detail;
        EXPECT_FALSE(o.detail.empty());
        EXPECT_EQ(o.detail.find("hep-secret"), std::string::npos) << "secrets never in logs";
    };
    expect_reject(ok.build(genesys_notify("c", 1)), IpAddress::from_string("127.0.0.9"),
                  HepReject::unknown_agent);
    expect_reject("HEP3garbage", kAsterisk, HepReject::malformed_hep);
    expect_reject(HepBuilder().build(genesys_notify("c", 1)), kAsterisk, HepReject::bad_password);
    HepBuilder wrong = ok;
    wrong.password = "hep-secreT";
    expect_reject(wrong.build(genesys_notify("c", 1)), kAsterisk, HepReject::bad_password);
    expect_reject(ok.build("NOTIFY sip:1002@h SIP/2.0\r\n\r\n"), kAsterisk,
                  HepReject::malformed_sip);
    HepBuilder other = ok;
    other.src_ip = "127.0.0.4";
    expect_reject(other.build(genesys_notify("c", 1)), kAsterisk, HepReject::not_genesys);
    std::string no_event = genesys_notify("c", 1);
    no_event.replace(no_event.find("Event: talk"), 11, "X-Nothing: 1");
    expect_reject(ok.build(no_event), kAsterisk, HepReject::bad_notify);
    expect_reject(ok.build(genesys_notify(std::string(300, 'x'), 1)), kAsterisk,
                  HepReject::bad_notify);

    const auto& c = intake.counters();
    EXPECT_EQ(c.datagrams, 8u);
    EXPECT_EQ(c.rejected_for(HepReject::unknown_agent), 1u);
    EXPECT_EQ(c.rejected_for(HepReject::malformed_hep), 1u);
    EXPECT_EQ(c.rejected_for(HepReject::bad_password), 2u);
    EXPECT_EQ(c.rejected_for(HepReject::malformed_sip), 1u);
    EXPECT_EQ(c.rejected_for(HepReject::not_genesys), 1u);
    EXPECT_EQ(c.rejected_for(HepReject::bad_notify), 2u);
    EXPECT_EQ(c.rejected_total(), 8u);
    EXPECT_EQ(c.notifies, 0u);

    EXPECT_EQ(intake.process(ok.build(genesys_notify("c", 1)), kAsterisk, now).kind, Kind::notify)
        << "the rejected copies did not poison the de-duplicator";
}

TEST(HepIntake, WithoutGenesysHostsNothingIsAccepted) {
    HepIntake intake(HepIntakeSettings{});
    auto o = intake.process(HepBuilder().build(genesys_notify("c", 1)), kAsterisk, Clock::now());
    EXPECT_EQ(o.kind, Kind::rejected);
    EXPECT_EQ(o.reject, HepReject::not_genesys);
}

TEST(HepIntake, ParsesHostLists) {
    std::vector<IpAddress> out;
    std::string error;
    ASSERT_TRUE(talkgate::intake::parse_ip_list({"10.0.0.1", " 10.0.0.2 ", "::1"}, out, error));
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[1], IpAddress::from_string("10.0.0.2"));
    EXPECT_FALSE(talkgate::intake::parse_ip_list({"10.0.0.1", "sip.example"}, out, error));
    EXPECT_NE(error.find("sip.example"), std::string::npos);
    EXPECT_EQ(out.size(), 3u) << "left unchanged on error";
}

}  // namespace
