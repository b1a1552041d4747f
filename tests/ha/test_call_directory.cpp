// What a gateway publishes of its calls, and what a reader makes of it: every field back, and
// anything malformed left out rather than thrown.
#include "ha/call_directory.hpp"

#include <gtest/gtest.h>

#include <iostream>

namespace talkgate::ha {
namespace {

status::CallView call(const std::string& id, const std::string& dn) {
    status::CallView c;
    c.id = id;
    c.dn = dn;
    c.state = "connected";
    c.call_id = "cid-" + id;
    c.call_uuid = "UUID-" + id;
    c.genesys_channel = id;
    c.agent_channel = id + "-agent";
    c.bridge = id + "-bridge";
    c.policy = "notify";
    c.held = true;
    c.created_ms = 1764500000000;
    c.ringing_ms = 1764500000100;
    c.answered_ms = 1764500000900;
    return c;
}

TEST(CallDirectory, PublishedCallsComeBackWithTheirGateway) {
    const auto text = published_calls("talkgate@gw-b", 7, 1764500001000,
                                      {call("1.1", "1003"), call("1.2", "1004")});
    const auto back = calls_from_published(text);
    ASSERT_EQ(back.size(), 2u);
    const auto& c = back[0];
    EXPECT_EQ(c.gateway, "talkgate@gw-b");
    EXPECT_EQ(c.id, "1.1");
    EXPECT_EQ(c.dn, "1003");
    EXPECT_EQ(c.state, "connected");
    EXPECT_EQ(c.call_id, "cid-1.1");
    EXPECT_EQ(c.call_uuid, "UUID-1.1");
    EXPECT_EQ(c.agent_channel, "1.1-agent");
    EXPECT_EQ(c.bridge, "1.1-bridge");
    EXPECT_TRUE(c.held);
    EXPECT_EQ(c.created_ms, 1764500000000);
    EXPECT_EQ(c.ringing_ms, 1764500000100);
    EXPECT_FALSE(c.notify_talk_ms);
    EXPECT_EQ(c.answered_ms, 1764500000900);
    EXPECT_EQ(back[1].dn, "1004");
}

TEST(CallDirectory, MalformedPublicationsAreLeftOut) {
    for (const char* text :
         {"", "not json", "[]", "{\"calls\": 5}", "{\"calls\": [1, \"x\", {\"dn\": \"1002\"}]}",
          "{\"gateway\": 3, \"calls\": [{\"id\": 1, \"dn\": \"1002\"}]}"}) {
        SCOPED_TRACE(text);
        EXPECT_TRUE(calls_from_published(text).empty());
    }
    // Wrong types in optional fields: the call stays, the field is dropped.
    auto back = calls_from_published(
        "{\"gateway\": \"g\", \"calls\": [{\"id\": \"1\", \"dn\": \"1002\", \"held\": \"yes\", "
        "\"ringing_ms\": \"soon\", \"created_ms\": 1.5}]}");
    ASSERT_EQ(back.size(), 1u);
    EXPECT_FALSE(back[0].held);
    EXPECT_FALSE(back[0].ringing_ms);
    EXPECT_EQ(back[0].created_ms, 0);
}

TEST(CallDirectory, OneCallPublishedIsAFewHundredBytes) {
    // The README's memory figure per live call comes from this size.
    const auto one =
        published_calls("talkgate@gw-a", 1, 1764500001000, {call("1764500000.123", "1002")});
    const auto none = published_calls("talkgate@gw-a", 1, 1764500001000, {});
    const auto per_call = one.size() - none.size();
    EXPECT_GT(per_call, 250u);
    EXPECT_LT(per_call, 400u);
    std::cout << "one published call: " << per_call << " bytes\n";
}

}  // namespace
}  // namespace talkgate::ha
