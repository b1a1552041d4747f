// Pure parts of ari-client: event decoding (on events recorded from the real Asterisk),
// channel models, and the reconnect backoff.
#include <ari/backoff.hpp>
#include <ari/events.hpp>
#include <ari/models.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <string>

namespace {

using namespace std::chrono_literals;

std::vector<std::string> corpus_lines() {
    std::ifstream in(ARI_CORPUS_FILE);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) lines.push_back(line);
    return lines;
}

TEST(AriDecode, EveryRecordedAsteriskEventDecodesToItsTypedEvent) {
    auto lines = corpus_lines();
    ASSERT_GE(lines.size(), 50u) << "corpus missing: " << ARI_CORPUS_FILE;
    std::map<std::string, int> others;
    for (const auto& line : lines) {
        auto e = ari::decode_event(line);
        ASSERT_TRUE(e) << e.error().describe() << "\n" << line;
        const auto& base = ari::event_base(e.value());
        EXPECT_FALSE(base.type.empty());
        EXPECT_FALSE(base.timestamp.empty());
        EXPECT_EQ(base.raw.dump(), nlohmann::json::parse(line).dump());
        if (std::holds_alternative<ari::OtherEvent>(e.value())) ++others[base.type];
    }
    for (const char* typed :
         {"StasisStart", "StasisEnd", "ChannelStateChange", "ChannelDestroyed", "ChannelVarset",
          "ChannelHold", "ChannelUnhold", "Dial", "ChannelUserevent", "BridgeCreated",
          "BridgeDestroyed", "ChannelEnteredBridge", "ChannelLeftBridge"})
        EXPECT_EQ(others.count(typed), 0u) << typed << " must decode to its own type";
}

TEST(AriDecode, StasisStartCarriesArgsAndTheChannelWithItsCallId) {
    auto e = ari::decode_event(R"({"type":"StasisStart","timestamp":"t","application":"app",
        "asterisk_id":"a","args":["1002","abc@host","UUID1"],
        "channel":{"id":"1.1","name":"PJSIP/genesys-00000001","state":"Ring",
          "protocol_id":"abc@host","caller":{"name":"","number":"genesys"},
          "connected":{"name":"","number":""},"accountcode":"",
          "dialplan":{"context":"from-genesys","exten":"1002","priority":4,
            "app_name":"Stasis","app_data":"talkgate,1002"},
          "creationtime":"2026-11-21T22:00:00.000+0000","language":"en",
          "channelvars":{"GENESYS":"x"}}})");
    ASSERT_TRUE(e) << e.error().describe();
    const auto* s = std::get_if<ari::StasisStart>(&e.value());
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->args, (std::vector<std::string>{"1002", "abc@host", "UUID1"}));
    EXPECT_EQ(s->channel.id, "1.1");
    EXPECT_EQ(s->channel.protocol_id, "abc@host");
    EXPECT_EQ(s->channel.caller.number, "genesys");
    EXPECT_EQ(s->channel.dialplan.context, "from-genesys");
    EXPECT_EQ(s->channel.dialplan.exten, "1002");
    EXPECT_EQ(s->channel.dialplan.priority, 4);
    EXPECT_EQ(s->channel.creationtime, "2026-11-21T22:00:00.000+0000");
    EXPECT_EQ(s->channel.channelvars.at("GENESYS"), "x");
    EXPECT_FALSE(s->replace_channel);
    EXPECT_EQ(s->application, "app");
}

TEST(AriDecode, UsereventExposesNameAndKeys) {
    auto e = ari::decode_event(R"({"type":"ChannelUserevent","timestamp":"t",
        "eventname":"GenesysNotify","userevent":{"NotifyEvent":"talk","CallID":"c"},
        "channel":{"id":"9"}})");
    ASSERT_TRUE(e);
    const auto& u = std::get<ari::ChannelUserevent>(e.value());
    EXPECT_EQ(u.eventname, "GenesysNotify");
    EXPECT_EQ(u.userevent["NotifyEvent"], "talk");
    ASSERT_TRUE(u.channel);
    EXPECT_EQ(u.channel->id, "9");
    EXPECT_FALSE(u.bridge);
}

TEST(AriDecode, HangupRequestWithAndWithoutCause) {
    auto with =
        ari::decode_event(R"({"type":"ChannelHangupRequest","cause":16,"channel":{"id":"1"}})");
    auto without =
        ari::decode_event(R"({"type":"ChannelHangupRequest","soft":true,"channel":{"id":"1"}})");
    ASSERT_TRUE(with && without);
    EXPECT_EQ(std::get<ari::ChannelHangupRequest>(with.value()).cause, 16);
    EXPECT_FALSE(std::get<ari::ChannelHangupRequest>(without.value()).cause);
    EXPECT_TRUE(std::get<ari::ChannelHangupRequest>(without.value()).soft);
}

TEST(AriDecode, UnknownTypeIsDeliveredRaw) {
    auto e = ari::decode_event(R"({"type":"PlaybackStarted","playback":{"id":"p"}})");
    ASSERT_TRUE(e);
    const auto* o = std::get_if<ari::OtherEvent>(&e.value());
    ASSERT_NE(o, nullptr);
    EXPECT_EQ(o->type, "PlaybackStarted");
    EXPECT_EQ(o->raw["playback"]["id"], "p");
}

TEST(AriDecode, MalformedInputIsAnErrorNotAnException) {
    for (const char* bad :
         {"", "{", "[1,2]", "\"x\"", R"({"no":"type"})", R"({"type":"StasisStart"})",
          R"({"type":"Dial","caller":{}})", R"({"type":"StasisEnd","channel":{"name":"no id"}})",
          R"({"type":"ChannelEnteredBridge","bridge":{"id":"b"}})"}) {
        auto e = ari::decode_event(bad);
        ASSERT_FALSE(e) << bad;
        EXPECT_EQ(e.error().kind, ari::Error::Kind::decode) << bad;
    }
}

TEST(AriModels, ChannelVarsThatAreNotStringsAreKeptAsJsonText) {
    auto c = ari::parse_channel(nlohmann::json::parse(R"({"id":"1","channelvars":{"N":5}})"));
    ASSERT_TRUE(c);
    EXPECT_EQ(c.value().channelvars.at("N"), "5");
    EXPECT_FALSE(ari::parse_channel(nlohmann::json::array()));
}

TEST(AriBackoff, GrowsExponentiallyWithinJitterAndIsCapped) {
    ari::Backoff b(100ms, 1600ms, 0.2, 42);
    const long expected[] = {100, 200, 400, 800, 1600, 1600, 1600};
    for (long e : expected) {
        const auto d = b.next().count();
        EXPECT_GE(d, e * 0.8 - 1) << "attempt " << b.attempt();
        EXPECT_LE(d, std::min(e * 1.2 + 1, 1600.0)) << "attempt " << b.attempt();
    }
    b.reset();
    EXPECT_LE(b.next().count(), 121);
}

TEST(AriBackoff, JitterSpreadsClientsApart) {
    ari::Backoff a(1000ms, 30000ms, 0.2, 1), b(1000ms, 30000ms, 0.2, 2);
    int differ = 0;
    for (int i = 0; i < 5; ++i) differ += a.next() != b.next();
    EXPECT_GE(differ, 4);
}

}  // namespace

namespace {

// Issue 11: a field of the wrong type is an error for that event (or a default), never an
// exception for the caller.
TEST(AriDecode, WrongTypedFieldsAreAnErrorForThatEventNotACrash) {
    const char* events[] = {
        R"({"type":"StasisStart","channel":{"id":"c1","state":5},"args":"x"})",
        R"({"type":"StasisStart","args":["1002"]})",
        R"({"type":"StasisStart","channel":"c1"})",
        R"({"type":"ChannelDestroyed","channel":{"id":"c1"},"cause":"16"})",
        R"({"type":"ChannelHangupRequest","channel":{"id":"c1"},"soft":"yes","cause":[1]})",
        R"({"type":"ChannelDtmfReceived","channel":{"id":"c1"},"duration_ms":{"a":1}})",
        R"({"type":"ChannelUserevent","eventname":"GenesysNotify","userevent":"x","channel":7})",
        R"({"type":"Dial","peer":{"id":5}})",
        R"({"type":5})",
        R"({"type":"ChannelStateChange","channel":{"id":"c1","dialplan":{"priority":"x"}}})",
    };
    for (const char* text : events) {
        EXPECT_NO_THROW({
            auto e = ari::decode_event(text);
            if (e) (void)ari::event_base(e.value());
        }) << text;
    }
    auto ss = ari::decode_event(events[0]);
    ASSERT_TRUE(ss);
    const auto& start = std::get<ari::StasisStart>(ss.value());
    EXPECT_EQ(start.channel.state, "");
    EXPECT_TRUE(start.args.empty());
    EXPECT_FALSE(ari::decode_event(events[1])) << "StasisStart without channel";
    auto destroyed = ari::decode_event(events[3]);
    ASSERT_TRUE(destroyed);
    EXPECT_EQ(std::get<ari::ChannelDestroyed>(destroyed.value()).cause, 0);
    auto app = ari::parse_application(nlohmann::json{{"name", "a"}, {"events_allowed", "x"}});
    ASSERT_TRUE(app);
    EXPECT_TRUE(app.value().events_allowed.is_array());
}

}  // namespace
