// The AMI/ARI user-event contract for NOTIFYs reported by a SIP edge (e.g. an Asterisk module).
#include "intake/user_event_source.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

using talkgate::intake::notify_from_ami_userevent;
using talkgate::intake::notify_from_ari_userevent;
using talkgate::intake::NotifyKind;
using talkgate::intake::NotifySource;
using Fields = std::vector<std::pair<std::string, std::string>>;

Fields ami_talk() {
    // as Asterisk 22 prints a channel user event raised by the module
    return {{"Event", "UserEvent"},
            {"Privilege", "user,all"},
            {"Channel", "PJSIP/genesys-00000001"},
            {"Uniqueid", "1763766000.1"},
            {"UserEvent", "GenesysNotify"},
            {"NotifyEvent", "talk"},
            {"CallID", "abc@10.0.0.5"},
            {"CallUUID", "01UUID"},
            {"DN", "1002"},
            {"CSeq", "102"}};
}

TEST(AmiUserEvent, BuildsANotifyEventFromGenesysNotify) {
    std::string error = "stale";
    auto e = notify_from_ami_userevent(ami_talk(), &error);
    ASSERT_TRUE(e) << error;
    EXPECT_TRUE(error.empty());
    EXPECT_EQ(e->kind, NotifyKind::talk);
    EXPECT_EQ(e->event, "talk");
    EXPECT_EQ(e->call_id, "abc@10.0.0.5");
    EXPECT_EQ(e->call_uuid, "01UUID");
    EXPECT_EQ(e->dn, "1002");
    EXPECT_EQ(e->cseq, 102u);
    EXPECT_EQ(e->source, NotifySource::ami);
    EXPECT_NE(e->received_at, std::chrono::steady_clock::time_point{});
}

TEST(AmiUserEvent, KeysAreCaseInsensitiveAndOptionalKeysAreRead) {
    Fields f = {{"event", "userevent"},
                {"userevent", "genesysnotify"},
                {"notifyevent", "hold"},
                {"callid", "x"},
                {"dn", "1003"},
                {"cseq", "0"},
                {"FromTag", "ft"},
                {"ToTag", "tt"},
                {"SubscriptionState", "active"}};
    auto e = notify_from_ami_userevent(f, nullptr);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->kind, NotifyKind::hold);
    EXPECT_EQ(e->call_uuid, "");
    EXPECT_EQ(e->from_tag, "ft");
    EXPECT_EQ(e->to_tag, "tt");
    EXPECT_EQ(e->subscription_state, "active");
}

TEST(AmiUserEvent, OtherMessagesAreNotOursAndSetNoError) {
    std::string error;
    Fields other_user_event = ami_talk();
    other_user_event[4].second = "SomethingElse";
    EXPECT_FALSE(notify_from_ami_userevent(other_user_event, &error));
    EXPECT_TRUE(error.empty());
    EXPECT_FALSE(notify_from_ami_userevent({{"Event", "Newchannel"}, {"Channel", "x"}}, &error));
    EXPECT_TRUE(error.empty());
    EXPECT_FALSE(notify_from_ami_userevent({{"Response", "Success"}}, &error));
    EXPECT_TRUE(error.empty());
    EXPECT_FALSE(notify_from_ami_userevent({}, &error));
    EXPECT_TRUE(error.empty());
}

TEST(AmiUserEvent, BrokenGenesysNotifySetsAnError) {
    for (const char* key : {"NotifyEvent", "CallID", "DN", "CSeq"}) {
        Fields f;
        for (auto& kv : ami_talk()) {
            if (kv.first != key) f.push_back(kv);
        }
        std::string error;
        EXPECT_FALSE(notify_from_ami_userevent(f, &error)) << key;
        EXPECT_NE(error.find(key), std::string::npos) << error;
    }
    for (const char* cseq : {"x1", "-1", "2147483648", "99999999999999999999", "1 2"}) {
        Fields f = ami_talk();
        f[9].second = cseq;
        std::string error;
        EXPECT_FALSE(notify_from_ami_userevent(f, &error)) << cseq;
        EXPECT_NE(error.find("CSeq"), std::string::npos) << error;
    }
    Fields long_id = ami_talk();
    long_id[6].second = std::string(300, 'a');
    std::string error;
    EXPECT_FALSE(notify_from_ami_userevent(long_id, &error));
    EXPECT_FALSE(error.empty());
}

TEST(AmiUserEvent, TheFirstOfRepeatedKeysWins) {
    Fields f = ami_talk();
    f.push_back({"DN", "9999"});
    auto e = notify_from_ami_userevent(f, nullptr);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->dn, "1002");
}

nlohmann::json ari_talk() {
    return nlohmann::json::parse(R"({
        "type": "ChannelUserevent",
        "eventname": "GenesysNotify",
        "timestamp": "2026-11-21T22:00:00.000+0000",
        "channel": {"id": "1763766000.1", "protocol_id": "abc@10.0.0.5"},
        "userevent": {"NotifyEvent": "talk", "CallID": "abc@10.0.0.5", "CallUUID": "01UUID",
                      "DN": "1002", "CSeq": "102"},
        "application": "talkgate"
    })");
}

TEST(AriUserEvent, BuildsANotifyEventFromChannelUserevent) {
    std::string error;
    auto e = notify_from_ari_userevent(ari_talk(), &error);
    ASSERT_TRUE(e) << error;
    EXPECT_EQ(e->kind, NotifyKind::talk);
    EXPECT_EQ(e->call_id, "abc@10.0.0.5");
    EXPECT_EQ(e->call_uuid, "01UUID");
    EXPECT_EQ(e->dn, "1002");
    EXPECT_EQ(e->cseq, 102u);
    EXPECT_EQ(e->source, NotifySource::ari);
}

TEST(AriUserEvent, AcceptsANumericCSeq) {
    auto ev = ari_talk();
    ev["userevent"]["CSeq"] = 7;
    auto e = notify_from_ari_userevent(ev, nullptr);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->cseq, 7u);
}

TEST(AriUserEvent, OtherEventsAreNotOursAndBrokenOnesSetAnError) {
    std::string error;
    EXPECT_FALSE(notify_from_ari_userevent(nlohmann::json::array(), &error));
    EXPECT_TRUE(error.empty());
    auto other = ari_talk();
    other["eventname"] = "Other";
    EXPECT_FALSE(notify_from_ari_userevent(other, &error));
    EXPECT_TRUE(error.empty());
    other = ari_talk();
    other["type"] = "StasisStart";
    EXPECT_FALSE(notify_from_ari_userevent(other, &error));
    EXPECT_TRUE(error.empty());

    auto no_body = ari_talk();
    no_body.erase("userevent");
    EXPECT_FALSE(notify_from_ari_userevent(no_body, &error));
    EXPECT_FALSE(error.empty());
    auto bad_type = ari_talk();
    bad_type["userevent"]["DN"] = nlohmann::json::array({1});
    EXPECT_FALSE(notify_from_ari_userevent(bad_type, &error));
    EXPECT_NE(error.find("DN"), std::string::npos);
    auto negative = ari_talk();
    negative["userevent"]["CSeq"] = -3;
    EXPECT_FALSE(notify_from_ari_userevent(negative, &error));
    EXPECT_FALSE(error.empty());
    auto missing = ari_talk();
    missing["userevent"].erase("CallID");
    EXPECT_FALSE(notify_from_ari_userevent(missing, &error));
    EXPECT_NE(error.find("CallID"), std::string::npos);
}

}  // namespace
