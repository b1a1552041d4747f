// The NotifyGate: NOTIFYs from HEP, AMI and ARI meet in one de-duplicator and act once.
#include "controller/notify_gate.hpp"

#include "ami/message.hpp"
#include "metrics/talkgate_metrics.hpp"

#include <gtest/gtest.h>

namespace talkgate::controller {
namespace {

intake::NotifyEvent talk(intake::NotifySource source, std::uint32_t cseq = 20) {
    intake::NotifyEvent n;
    n.kind = intake::NotifyKind::talk;
    n.event = "talk";
    n.call_id = "cid-1";
    n.dn = "1002";
    n.call_uuid = "U1";
    n.cseq = cseq;
    n.source = source;
    n.channel = source == intake::NotifySource::hep ? "" : "g1";
    n.received_at = std::chrono::steady_clock::now();
    return n;
}

ami::Message ami_user_event(const std::string& cseq) {
    return ami::Message({{"Event", "UserEvent"},
                         {"UserEvent", "GenesysNotify"},
                         {"Uniqueid", "g1"},
                         {"NotifyEvent", "talk"},
                         {"CallID", "cid-1"},
                         {"DN", "1002"},
                         {"CSeq", cseq}});
}

class NotifyGateTest : public ::testing::Test {
  protected:
    NotifyGateTest() { sources.ari = true; }

    NotifyGate& gate() {
        if (!gate_)
            gate_ = std::make_unique<NotifyGate>(
                sources, metrics, [this](flow::NotifyReceived n) { delivered.push_back(n); });
        return *gate_;
    }

    std::uint64_t counted(metrics::Family<metrics::Counter>& f, const std::string& label) {
        return f.labels({label}).value();
    }

    NotifySources sources;
    metrics::TalkgateMetrics metrics;
    std::vector<flow::NotifyReceived> delivered;
    std::unique_ptr<NotifyGate> gate_;
};

TEST_F(NotifyGateTest, OneNotifyFromEverySourceActsOnceAndTheRepeatsAreCountedBySource) {
    gate().admit(talk(intake::NotifySource::hep));
    gate().from_ami(ami_user_event("20"));
    gate().admit(talk(intake::NotifySource::ari));
    ASSERT_EQ(delivered.size(), 1u);
    const auto& n = delivered[0];
    EXPECT_EQ(n.kind, flow::NotifyKind::talk);
    EXPECT_EQ(n.source, "hep");
    EXPECT_FALSE(n.from_channel) << "HEP names no channel";
    EXPECT_EQ(n.call_id, "cid-1");
    EXPECT_EQ(n.cseq, 20u);
    EXPECT_EQ(counted(metrics.notify_duplicates, "ami"), 1u);
    EXPECT_EQ(counted(metrics.notify_duplicates, "ari"), 1u);

    gate().from_ami(ami_user_event("21"));  // the next NOTIFY of the dialog
    ASSERT_EQ(delivered.size(), 2u);
    EXPECT_EQ(delivered[1].source, "ami");
    EXPECT_TRUE(delivered[1].from_channel);
    EXPECT_EQ(delivered[1].channel, "g1");
}

TEST_F(NotifyGateTest, DroppedHeaderIsCountedAndTheNotifyStillActs) {
    auto n = talk(intake::NotifySource::hep);
    n.call_uuid.clear();
    n.dropped_header = "X-Genesys-CallUUID";
    gate().admit(n);
    EXPECT_EQ(delivered.size(), 1u);
    EXPECT_EQ(counted(metrics.notify_rejected, "bad_header"), 1u);
}

TEST_F(NotifyGateTest, UserEventsActOnlyFromConfiguredSourcesAndMalformedOnesAreCounted) {
    sources.ami = false;
    gate().from_ami(ami_user_event("20"));
    EXPECT_TRUE(delivered.empty());

    ari::ChannelUserevent other;
    other.raw = nlohmann::json{{"type", "ChannelUserevent"}, {"eventname", "Other"}};
    EXPECT_TRUE(gate().from_ari(other)) << "a user event is the gate's, even an unrelated one";
    EXPECT_EQ(counted(metrics.notify_rejected, "malformed_user_event"), 0u);

    ari::ChannelUserevent broken;
    broken.raw = nlohmann::json{{"type", "ChannelUserevent"},
                                {"eventname", "GenesysNotify"},
                                {"channel", {{"id", "g1"}}},
                                {"userevent", {{"NotifyEvent", "talk"}}}};
    EXPECT_TRUE(gate().from_ari(broken));
    EXPECT_EQ(counted(metrics.notify_rejected, "malformed_user_event"), 1u);
    EXPECT_FALSE(gate().from_ari(ari::StasisEnd{})) << "other events go to the flow";
    EXPECT_TRUE(delivered.empty());

    sources.ari = false;
    gate_.reset();
    EXPECT_FALSE(gate().from_ari(broken)) << "without the ari source it is an ordinary event";
}

}  // namespace
}  // namespace talkgate::controller
