// Pure pieces of the AMI client: Message look-ups, action serialisation, SIP URI hosts of
// contacts, list records, and the reconnect backoff.
#include "ami/action.hpp"
#include "ami/message.hpp"
#include "ami/records.hpp"
#include "ami/settings.hpp"

#include <gtest/gtest.h>

namespace {

using namespace talkgate::ami;
using namespace std::chrono_literals;

TEST(AmiMessage, GetIsCaseInsensitiveAndReturnsTheFirst) {
    Message m({{"Event", "Hangup"}, {"ChanVariable", "A=1"}, {"chanvariable", "B=2"}});
    EXPECT_EQ(m.get("EVENT"), "Hangup");
    EXPECT_EQ(m.get("ChanVariable"), "A=1");
    EXPECT_EQ(m.get_all("CHANVARIABLE"), (std::vector<std::string>{"A=1", "B=2"}));
    EXPECT_FALSE(m.get("Missing"));
    EXPECT_EQ(m.get_or("Missing", "x"), "x");
    EXPECT_TRUE(m.is_event());
    EXPECT_FALSE(m.is_response());
    ASSERT_EQ(m.fields().size(), 3u);
    EXPECT_EQ(m.fields()[2].first, "chanvariable");
}

TEST(AmiAction, SerialisesWithActionIdAndBlankLine) {
    std::string out;
    Action a("PJSIPNotify", {{"Channel", "PJSIP/1001-00000001"}, {"Variable", "Event=talk"}});
    ASSERT_EQ(serialize_action(a, "tg1-7", out), "");
    EXPECT_EQ(out,
              "Action: PJSIPNotify\r\nActionID: tg1-7\r\nChannel: PJSIP/1001-00000001\r\n"
              "Variable: Event=talk\r\n\r\n");
}

TEST(AmiAction, RefusesFieldsThatWouldInjectLinesOrActions) {
    std::string out = "untouched";
    EXPECT_NE(
        serialize_action(Action("Getvar", {{"Variable", "X\r\n\r\nAction: Logoff"}}), "1", out),
        "");
    EXPECT_NE(serialize_action(Action("Getvar", {{"Bad:Key", "v"}}), "1", out), "");
    EXPECT_NE(serialize_action(Action("Getvar", {{"ActionID", "mine"}}), "1", out), "");
    EXPECT_NE(serialize_action(Action("Get var"), "1", out), "");
    EXPECT_NE(serialize_action(Action(""), "1", out), "");
    EXPECT_EQ(out, "untouched");
}

TEST(AmiRecords, ParsesHostAndPortOfSipUris) {
    auto hp = parse_sip_uri_host("sip:1009@127.0.0.3:28071;transport=udp");
    ASSERT_TRUE(hp);
    EXPECT_EQ(hp->host, "127.0.0.3");
    EXPECT_EQ(hp->port, 28071);
    hp = parse_sip_uri_host("<sips:agent@[2001:db8::1]:5061;transport=tls>");
    ASSERT_TRUE(hp);
    EXPECT_EQ(hp->host, "2001:db8::1");
    EXPECT_EQ(hp->port, 5061);
    hp = parse_sip_uri_host("sip:agent.example.net");
    ASSERT_TRUE(hp);
    EXPECT_EQ(hp->host, "agent.example.net");
    EXPECT_EQ(hp->port, 0);
    hp = parse_sip_uri_host("SIP:user:pw@host.test:5060?h=1");
    ASSERT_TRUE(hp);
    EXPECT_EQ(hp->host, "host.test");
    EXPECT_EQ(hp->port, 5060);
    EXPECT_FALSE(parse_sip_uri_host("http://x"));
    EXPECT_FALSE(parse_sip_uri_host("sip:"));
    EXPECT_FALSE(parse_sip_uri_host("sip:h:"));
    EXPECT_FALSE(parse_sip_uri_host("sip:h:99999"));
    EXPECT_FALSE(parse_sip_uri_host("sip:[::1"));
    EXPECT_FALSE(parse_sip_uri_host("<sip:h"));
}

TEST(AmiRecords, ContactForAorPrefersAReachableOne) {
    std::vector<Contact> contacts;
    for (auto [aor, uri, status] : {std::tuple{"1001", "sip:1001@10.0.0.1", "Reachable"},
                                    std::tuple{"1009", "sip:1009@10.0.0.2", "Unreachable"},
                                    std::tuple{"1009", "sip:1009@10.0.0.3:5070", "Reachable"}}) {
        contacts.push_back(Contact::from(Message({{"Event", "ContactList"},
                                                  {"ObjectName", std::string(aor) + ";@ab12"},
                                                  {"Uri", uri},
                                                  {"Status", status}})));
    }
    const Contact* c = contact_for_aor(contacts, "1009");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->host, "10.0.0.3");
    EXPECT_EQ(c->port, 5070);
    EXPECT_EQ(contact_for_aor(contacts, "1002"), nullptr);
}

TEST(AmiBackoff, DoublesFromMinUpToTheCapAndJitterOnlyShortens) {
    Settings s;
    s.reconnect_min = 100ms;
    s.reconnect_max = 1000ms;
    s.reconnect_jitter = 0.25;
    EXPECT_EQ(backoff_delay(0, s, 0.0), 100ms);
    EXPECT_EQ(backoff_delay(1, s, 0.0), 200ms);
    EXPECT_EQ(backoff_delay(3, s, 0.0), 800ms);
    EXPECT_EQ(backoff_delay(4, s, 0.0), 1000ms);
    EXPECT_EQ(backoff_delay(4000000, s, 0.0), 1000ms);
    EXPECT_EQ(backoff_delay(4, s, 0.999), 751ms);
    for (unsigned a = 0; a < 40; ++a) {
        for (double u : {0.0, 0.3, 0.7, 0.99}) {
            auto d = backoff_delay(a, s, u);
            EXPECT_LE(d, 1000ms);
            EXPECT_GE(d, 75ms);
        }
    }
}

}  // namespace
