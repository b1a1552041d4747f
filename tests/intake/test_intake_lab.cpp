// The NOTIFY intake against the real Asterisk 22 lab: Asterisk's res_hep_pjsip copies every
// SIP message to the HepListener on LAB_HEP_PORT (tests/lab/asterisk/hep.conf). A sipp
// "Genesys" rings DN 1002 (the test rings the call through ARI), then sends NOTIFY talk in the
// early dialog four times (Asterisk never answers it): exactly one NotifyEvent must come out.
#include "intake/hep_listener.hpp"
#include "intake/sip_message.hpp"
#include "lab_ari.hpp"
#include "lab_env.hpp"
#include "polling.hpp"
#include "sipp.hpp"
#include "tls_sip_client.hpp"

#include <gtest/gtest.h>
#include <boost/asio.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <mutex>
#include <thread>

namespace {

namespace asio = boost::asio;
using talkgate::intake::HepCounters;
using talkgate::intake::HepListener;
using talkgate::intake::HepListenerSettings;
using talkgate::intake::HepReject;
using talkgate::intake::IpAddress;
using talkgate::intake::NotifyEvent;
using talkgate::intake::NotifyKind;
using talkgate::intake::NotifySource;
using talkgate::test::AriEvents;
using talkgate::test::LabEnv;
using talkgate::test::ring;
using talkgate::test::Sipp;
using talkgate::test::TlsSipClient;
using namespace std::chrono_literals;

// The listener under test on LAB_HEP_PORT, on its own io_context thread.
class Intake {
  public:
    explicit Intake(const LabEnv& lab)
        : work_(asio::make_work_guard(io_)), listener_(io_, settings(lab), [this](NotifyEvent e) {
              std::lock_guard<std::mutex> lock(mu_);
              events_.push_back(std::move(e));
          }) {
        if (auto ec = listener_.start()) {
            throw std::runtime_error("HEP listener cannot bind LAB_HEP_PORT: " + ec.message());
        }
        thread_ = std::thread([this] { io_.run(); });
    }
    ~Intake() {
        listener_.stop();
        work_.reset();
        io_.stop();
        thread_.join();
    }

    template <class Pred>
    HepCounters wait_for(Pred pred, std::chrono::milliseconds deadline) {
        HepCounters c;
        talkgate::test::wait_until(
            [&] {
                c = listener_.counters();
                return pred(c);
            },
            deadline, 20ms);
        return c;
    }
    std::vector<NotifyEvent> events() {
        std::lock_guard<std::mutex> lock(mu_);
        return events_;
    }

  private:
    static HepListenerSettings settings(const LabEnv& lab) {
        HepListenerSettings s;
        s.listen_host = "127.0.0.1";
        s.listen_port = static_cast<unsigned short>(lab.port("LAB_HEP_PORT"));
        s.intake.genesys_hosts = {IpAddress::from_string(lab["LAB_GENESYS_IP"])};
        return s;
    }

    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_;
    HepListener listener_;
    std::thread thread_;
    std::mutex mu_;
    std::vector<NotifyEvent> events_;
};

class IntakeLabTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (lab["LAB_HEP_ENABLED"] != "yes") GTEST_SKIP() << "the lab runs without HEP";
        log_offset_ = lab.log_size();
    }
    void TearDown() override {
        // the scenarios are well-formed SIP: Asterisk has nothing to warn about
        const std::string log = lab.log_since(log_offset_);
        EXPECT_EQ(log.find("WARNING["), std::string::npos) << log;
        EXPECT_EQ(log.find("ERROR["), std::string::npos) << log;
        lab.reset();
    }
    std::size_t log_offset_ = 0;
    const LabEnv& lab = LabEnv::get();
};

TEST_F(IntakeLabTest, RetransmittedNotifyTalkInTheEarlyDialogGivesExactlyOneEvent) {
    Intake intake(lab);
    AriEvents ari(lab);
    ASSERT_TRUE(ari.wait_open(5s)) << "ARI events WebSocket did not open";

    const std::string uuid = "01INTAKELABCALLUUID000000001";
    Sipp::Options o;
    o.scenario = "intake_genesys_notify_retrans.xml";
    o.local_ip = lab["LAB_GENESYS_IP"];
    o.service = "1002";
    o.timeout = std::chrono::seconds(20);
    o.extra = {"-set", "uuid", uuid};
    Sipp genesys(lab, o);

    auto start = ari.next("StasisStart", 10s);
    ASSERT_TRUE(start) << "no StasisStart within 10 s\n" << genesys.output();
    const std::string channel_id = (*start)["channel"]["id"];
    const std::string call_id = (*start)["channel"]["protocol_id"];
    ASSERT_FALSE(call_id.empty()) << start->dump();
    ASSERT_EQ(ring(lab, channel_id), 204);

    const std::string failure = genesys.wait_success(20s);
    ASSERT_TRUE(failure.empty()) << failure;

    // HEP is asynchronous: wait until the four copies were seen, then a little longer so
    // that a second event, if the intake produced one, would have arrived.
    auto c =
        intake.wait_for([](const HepCounters& c) { return c.notifies + c.duplicates >= 4; }, 5s);
    std::this_thread::sleep_for(300ms);
    c = intake.wait_for([](const HepCounters&) { return true; }, 0ms);
    EXPECT_EQ(c.notifies, 1u);
    EXPECT_EQ(c.duplicates, 3u);
    EXPECT_EQ(c.rejected_total(), 0u);
    EXPECT_GE(c.non_notify_ignored, 5u)
        << "INVITE, 100, 180, CANCEL, 200, 487, ACK were copied too";

    const auto events = intake.events();
    ASSERT_EQ(events.size(), 1u);
    const NotifyEvent& e = events[0];
    EXPECT_EQ(e.kind, NotifyKind::talk);
    EXPECT_EQ(e.event, "talk");
    EXPECT_EQ(e.dn, "1002");
    EXPECT_EQ(e.call_id, call_id);
    EXPECT_EQ(e.call_uuid, uuid);
    EXPECT_EQ(e.cseq, 20u);
    EXPECT_NE(e.from_tag.find("SIPpTag00"), std::string::npos) << e.from_tag;
    EXPECT_FALSE(e.to_tag.empty()) << "the NOTIFY carries the To tag of Asterisk's 180";
    EXPECT_EQ(e.subscription_state, "active");
    EXPECT_EQ(e.source, NotifySource::hep);
    EXPECT_EQ(e.source_address, lab["LAB_GENESYS_IP"] + ":" + std::to_string(genesys.local_port()));
}

TEST_F(IntakeLabTest, NotifyFromAHostThatIsNotGenesysIsRejectedAndCounted) {
    Intake intake(lab);
    Sipp::Options o;
    o.scenario = "intake_other_notify.xml";
    o.local_ip = lab["LAB_OTHER_IP"];
    o.service = "1002";
    o.timeout = std::chrono::seconds(10);
    Sipp other(lab, o);
    const std::string failure = other.wait_success(10s);
    ASSERT_TRUE(failure.empty()) << failure;

    auto c = intake.wait_for(
        [](const HepCounters& c) { return c.rejected_for(HepReject::not_genesys) >= 1; }, 5s);
    EXPECT_EQ(c.rejected_for(HepReject::not_genesys), 1u);
    EXPECT_EQ(c.notifies, 0u);
    EXPECT_TRUE(intake.events().empty());
}

// One call leg of a TLS "Genesys": the requests it sends, built from the dialog's state.
struct TlsGenesysCall {
    std::string local;  // ip:port of the TLS connection
    std::string uri;    // Request-URI and To URI
    std::string call_id;
    std::string uuid;
    std::string to_tag;  // from Asterisk's 180

    std::string request(const std::string& method, int cseq, const std::string& branch,
                        const std::string& extra, const std::string& body = {}) const {
        return method + " " + uri + " SIP/2.0\r\n" + "Via: SIP/2.0/TLS " + local +
               ";branch=z9hG4bK-" + branch + "\r\n" + "From: <sip:genesys@" + local +
               ">;tag=genesys-tls-1\r\n" + "To: <" + uri + ">" +
               (to_tag.empty() || method == "CANCEL" ? "" : ";tag=" + to_tag) + "\r\n" +
               "Call-ID: " + call_id + "\r\n" + "CSeq: " + std::to_string(cseq) + " " + method +
               "\r\n" + "Contact: <sip:genesys@" + local + ";transport=tls>\r\n" +
               "Max-Forwards: 70\r\n" + "X-Genesys-CallUUID: " + uuid + "\r\n" + extra +
               "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    }
};

// Reads messages until a response with `status` (bounded in count and time).
std::optional<std::string> receive_status(TlsSipClient& c, int status) {
    for (int i = 0; i < 10; ++i) {
        auto m = c.receive(5s);
        if (!m) return std::nullopt;
        auto parsed = talkgate::intake::parse_sip(*m);
        if (parsed && !parsed->is_request && parsed->status_code == status) return m;
    }
    return std::nullopt;
}

// The stretch goal: Genesys speaks SIP over TLS, which a packet capture cannot read; Asterisk's
// HEP copy is taken after TLS is removed, so the intake still sees the NOTIFY.
TEST_F(IntakeLabTest, NotifyTalkOverSipTlsArrivesThroughHep) {
    Intake intake(lab);
    AriEvents ari(lab);
    ASSERT_TRUE(ari.wait_open(5s)) << "ARI events WebSocket did not open";

    TlsSipClient genesys(lab["LAB_GENESYS_IP"], lab["LAB_TLS_CERT"]);
    ASSERT_TRUE(genesys.connect(lab["LAB_SIP_HOST"],
                                static_cast<unsigned short>(lab.port("LAB_SIP_TLS_PORT")), 5s))
        << genesys.error();
    TlsGenesysCall call;
    call.local = lab["LAB_GENESYS_IP"] + ":" + std::to_string(genesys.local_port());
    call.uri = "sip:1002@" + lab["LAB_SIP_HOST"] + ":" + lab["LAB_SIP_TLS_PORT"] + ";transport=tls";
    call.call_id =
        "intake-tls-" + std::to_string(genesys.local_port()) + "@" + lab["LAB_GENESYS_IP"];
    call.uuid = "01INTAKELABTLSUUID0000000001";
    const std::string sdp = "v=0\r\no=genesys 1 1 IN IP4 " + lab["LAB_GENESYS_IP"] +
                            "\r\ns=-\r\nc=IN IP4 " + lab["LAB_GENESYS_IP"] +
                            "\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
    ASSERT_TRUE(genesys.send(
        call.request("INVITE", 1, "tls-inv", "Content-Type: application/sdp\r\n", sdp), 5s))
        << genesys.error();

    auto start = ari.next("StasisStart", 10s);
    ASSERT_TRUE(start) << "no StasisStart within 10 s";
    EXPECT_EQ((*start)["channel"]["protocol_id"], call.call_id);
    ASSERT_EQ(ring(lab, (*start)["channel"]["id"]), 204);

    auto ringing = receive_status(genesys, 180);
    ASSERT_TRUE(ringing) << "no 180 over TLS: " << genesys.error();
    auto parsed = talkgate::intake::parse_sip(*ringing);
    ASSERT_TRUE(parsed) << parsed.error();
    call.to_tag = std::string(parsed->to.tag);
    ASSERT_FALSE(call.to_tag.empty());

    ASSERT_TRUE(genesys.send(
        call.request("NOTIFY", 20, "tls-ntf", "Event: talk\r\nSubscription-State: active\r\n"), 5s))
        << genesys.error();
    auto c = intake.wait_for([](const HepCounters& c) { return c.notifies >= 1; }, 5s);

    // end the call cleanly: CANCEL, 487, ACK
    ASSERT_TRUE(genesys.send(call.request("CANCEL", 1, "tls-inv", ""), 5s)) << genesys.error();
    EXPECT_TRUE(receive_status(genesys, 487)) << genesys.error();
    EXPECT_TRUE(genesys.send(call.request("ACK", 1, "tls-inv", ""), 5s)) << genesys.error();

    c = intake.wait_for([](const HepCounters&) { return true; }, 0ms);
    EXPECT_EQ(c.notifies, 1u);
    EXPECT_EQ(c.rejected_total(), 0u);
    const auto events = intake.events();
    ASSERT_EQ(events.size(), 1u);
    const NotifyEvent& e = events[0];
    EXPECT_EQ(e.kind, NotifyKind::talk);
    EXPECT_EQ(e.dn, "1002");
    EXPECT_EQ(e.call_id, call.call_id);
    EXPECT_EQ(e.call_uuid, call.uuid);
    EXPECT_EQ(e.cseq, 20u);
    EXPECT_EQ(e.to_tag, call.to_tag);
    EXPECT_EQ(e.source_address, call.local);
}

}  // namespace
