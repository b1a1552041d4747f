#include "status/status_json.hpp"
#include "wire/wire_text.hpp"

#include <gtest/gtest.h>

using namespace talkgate::status;

TEST(StatusJson, ValidDnFollowsTheDocumentedAlphabet) {
    for (const char* ok :
         {"1002", "a", "+4930123", "*86#", "agent_1.x-y", "12345678901234567890123456789012"}) {
        EXPECT_TRUE(talkgate::wire::valid_dn(ok)) << ok;
    }
    for (const char* bad : {"", "10 02", "10/02", "1002;x", "é", "%41", "a\nb",
                            "123456789012345678901234567890123"}) {
        EXPECT_FALSE(talkgate::wire::valid_dn(bad)) << bad;
    }
}

TEST(StatusJson, ReadinessNeedsOnlyTheRequiredPeers) {
    EXPECT_TRUE(is_ready({false, false, false, false, false, false}));
    EXPECT_TRUE(is_ready({true, true, false, false, true, true}));
    EXPECT_FALSE(is_ready({true, true, true, false, true, true}));
    EXPECT_FALSE(is_ready({true, false, false, true, false, true}));
}

TEST(StatusJson, CallUuidIsVisibleAsciiUpTo128) {
    EXPECT_TRUE(talkgate::wire::valid_call_uuid("UIVB8J6JE91C53UIM3VI59VHQ400001R"));
    EXPECT_TRUE(talkgate::wire::valid_call_uuid(std::string(128, 'x')));
    EXPECT_FALSE(talkgate::wire::valid_call_uuid(std::string(129, 'x')));
    EXPECT_FALSE(talkgate::wire::valid_call_uuid(""));
    EXPECT_FALSE(talkgate::wire::valid_call_uuid("a b"));
}
