// The AMI client against scripted fake servers on loopback: what a real Asterisk cannot do on
// demand (garbage, bytes split anywhere, oversized frames, silence, closing mid-action, refusing
// a login at will), plus correlation, lists, timeouts and the log's hygiene.
#include "ami_test_harness.hpp"
#include "fake_ami_server.hpp"

#include <gtest/gtest.h>

namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using talkgate::ami::Action;
using talkgate::ami::ChannelInfo;
using talkgate::ami::Client;
using talkgate::ami::ConnectionState;
using talkgate::ami::Contact;
using talkgate::ami::Error;
using talkgate::ami::Message;
using talkgate::ami::Reply;
using talkgate::ami::Settings;
using talkgate::test::CapturedLog;
using talkgate::test::ClientHarness;
using talkgate::test::FakeAmiConnection;
using talkgate::test::FakeAmiServer;
using talkgate::test::kBanner;
using Kind = ConnectionState::Kind;

constexpr const char* kSecret = "fAkE-s3cret-9f1d";

Settings settings_for(const FakeAmiServer& server) {
    Settings s;
    s.host = "127.0.0.1";
    s.port = server.port();
    s.username = "tg-user";
    s.secret = kSecret;
    s.connect_timeout = 2s;
    s.action_timeout = 2s;
    s.keepalive_interval = 0ms;
    s.reconnect_min = 50ms;
    s.reconnect_max = 400ms;
    return s;
}

// A client connected and logged in to `server`.
struct Connected {
    Connected(FakeAmiServer& server, Settings s, std::shared_ptr<spdlog::logger> log = nullptr)
        : h(std::move(s), std::move(log)) {
        h.client().start();
        conn = server.accept(3s);
        if (!conn) throw std::runtime_error("client did not connect");
        login = conn->accept_login(3s);
        if (!login) throw std::runtime_error("no Login from the client");
        if (!h.wait_state(Kind::connected, 3s)) throw std::runtime_error("not connected");
    }
    ClientHarness h;
    std::unique_ptr<FakeAmiConnection> conn;
    std::optional<Message> login;
};

auto getvar(ClientHarness& h, std::string channel, std::string var) {
    return [&h, channel, var](Client::Handler<std::string> done) {
        h.client().getvar(channel, var, std::move(done));
    };
}

TEST(AmiClientFake, LogsInWithCredentialsAndEventsMaskThenReportsConnected) {
    FakeAmiServer server;
    ClientHarness h(settings_for(server));
    h.client().start();
    auto conn = server.accept(3s);
    ASSERT_TRUE(conn);
    auto login = conn->accept_login(3s);
    ASSERT_TRUE(login);
    EXPECT_EQ(login->get("Username"), "tg-user");
    EXPECT_EQ(login->get("Secret"), kSecret);
    EXPECT_EQ(login->get("Events"), "system,call,user");
    EXPECT_TRUE(login->get("ActionID"));
    auto st = h.wait_state(Kind::connected, 3s);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->banner, "Asterisk Call Manager/11.0.0");
    EXPECT_EQ(h.client().stats().connects, 1u);
    EXPECT_TRUE(h.callbacks_on_io_thread());
}

TEST(AmiClientFake, CorrelatesRepliesByActionIdOutOfOrderAndDeliversEvents) {
    FakeAmiServer server;
    Connected c(server, settings_for(server));
    auto p1 = std::make_shared<std::promise<talkgate::ami::Result<std::string>>>();
    auto p2 = std::make_shared<std::promise<talkgate::ami::Result<Message>>>();
    c.h.client().getvar("PJSIP/1001-00000001", "TG_VAR",
                        [p1](auto r) { p1->set_value(std::move(r)); });
    c.h.client().ping([p2](auto r) { p2->set_value(std::move(r)); });
    auto a1 = c.conn->read_frame(2s);
    auto a2 = c.conn->read_frame(2s);
    ASSERT_TRUE(a1 && a2);
    EXPECT_EQ(a1->get("Action"), "Getvar");
    EXPECT_EQ(a1->get("Channel"), "PJSIP/1001-00000001");
    EXPECT_EQ(a1->get("Variable"), "TG_VAR");
    EXPECT_EQ(a2->get("Action"), "Ping");
    EXPECT_NE(a1->get("ActionID"), a2->get("ActionID"));
    ASSERT_TRUE(c.conn->reply(*a2, "Response: Success\r\nPing: Pong\r\nTimestamp: 1.0\r\n"));
    ASSERT_TRUE(
        c.conn->send("Event: Newchannel\r\nChannel: PJSIP/1001-00000002\r\n"
                     "ChanVariable: A=1\r\nChanVariable: B=2\r\n\r\n"));
    ASSERT_TRUE(c.conn->reply(*a1, "Response: Success\r\nVariable: TG_VAR\r\nValue: hello\r\n"));
    auto f1 = p1->get_future();
    auto f2 = p2->get_future();
    ASSERT_EQ(f1.wait_for(3s), std::future_status::ready);
    ASSERT_EQ(f2.wait_for(3s), std::future_status::ready);
    auto r1 = f1.get();
    auto r2 = f2.get();
    ASSERT_TRUE(r1) << r1.error().describe();
    EXPECT_EQ(r1.value(), "hello");
    ASSERT_TRUE(r2) << r2.error().describe();
    EXPECT_EQ(r2.value().get("Ping"), "Pong");
    auto ev = c.h.wait_event("Newchannel", 2s);
    ASSERT_TRUE(ev);
    EXPECT_EQ(ev->get_all("ChanVariable"), (std::vector<std::string>{"A=1", "B=2"}));
    EXPECT_TRUE(c.h.callbacks_on_io_thread());
}

TEST(AmiClientFake, CollectsAnEventListIntoOneResult) {
    FakeAmiServer server;
    Connected c(server, settings_for(server));
    auto result = std::async(std::launch::async, [&] {
        return c.h.call<std::vector<ChannelInfo>>(
            [&](auto done) { c.h.client().core_show_channels(std::move(done)); }, 3s);
    });
    auto a = c.conn->read_frame(2s);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->get("Action"), "CoreShowChannels");
    const std::string id = a->get_or("ActionID", "");
    ASSERT_TRUE(c.conn->send("Response: Success\r\nActionID: " + id +
                             "\r\nEventList: start\r\nMessage: Channels will follow\r\n\r\n"
                             "Event: CoreShowChannel\r\nActionID: " +
                             id +
                             "\r\nChannel: PJSIP/1001-00000001\r\nChannelStateDesc: Ringing\r\n"
                             "Uniqueid: 1.1\r\nApplication: Wait\r\n\r\n"
                             "Event: Hangup\r\nChannel: PJSIP/1002-00000009\r\n\r\n"
                             "Event: CoreShowChannel\r\nActionID: " +
                             id +
                             "\r\nChannel: PJSIP/1002-00000002\r\nChannelStateDesc: Up\r\n\r\n"
                             "Event: CoreShowChannelsComplete\r\nActionID: " +
                             id + "\r\nEventList: Complete\r\nListItems: 2\r\n\r\n"));
    auto r = result.get();
    ASSERT_TRUE(r);
    ASSERT_TRUE(*r) << r->error().describe();
    const auto& channels = r->value();
    ASSERT_EQ(channels.size(), 2u);
    EXPECT_EQ(channels[0].channel, "PJSIP/1001-00000001");
    EXPECT_EQ(channels[0].state, "Ringing");
    EXPECT_EQ(channels[0].application, "Wait");
    EXPECT_EQ(channels[1].state, "Up");
    auto hangup = c.h.wait_event("Hangup", 2s);
    ASSERT_TRUE(hangup) << "an unrelated event inside a list must still reach the app";
    EXPECT_EQ(hangup->get("Channel"), "PJSIP/1002-00000009");
}

TEST(AmiClientFake, ContactsCarryTheirUriHostAndNoContactsIsAnEmptyList) {
    FakeAmiServer server;
    Connected c(server, settings_for(server));
    auto first = std::async(std::launch::async, [&] {
        return c.h.call<std::vector<Contact>>(
            [&](auto done) { c.h.client().pjsip_show_contacts(std::move(done)); }, 3s);
    });
    auto a = c.conn->read_frame(2s);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->get("Action"), "PJSIPShowContacts");
    const std::string id = a->get_or("ActionID", "");
    ASSERT_TRUE(c.conn->send(
        "Response: Success\r\nActionID: " + id +
        "\r\nEventList: start\r\n\r\n"
        "Event: ContactList\r\nActionID: " +
        id +
        "\r\nObjectType: contact\r\n"
        "ObjectName: 1009;@bfa2b8458f023d433c0ad0ad42e47ef6\r\n"
        "ViaAddr: 127.0.0.3\r\nEndpoint: 1009\r\nUri: sip:1009@127.0.0.3:5099;transport=UDP\r\n"
        "Status: NonQualified\r\n\r\n"
        "Event: ContactListComplete\r\nActionID: " +
        id + "\r\nEventList: Complete\r\n\r\n"));
    auto r = first.get();
    ASSERT_TRUE(r && *r);
    ASSERT_EQ(r->value().size(), 1u);
    EXPECT_EQ(r->value()[0].aor, "1009");
    EXPECT_EQ(r->value()[0].host, "127.0.0.3");
    EXPECT_EQ(r->value()[0].port, 5099);
    EXPECT_EQ(r->value()[0].endpoint, "1009");
    EXPECT_EQ(r->value()[0].via_address, "127.0.0.3");

    auto second = std::async(std::launch::async, [&] {
        return c.h.call<std::vector<Contact>>(
            [&](auto done) { c.h.client().pjsip_show_contacts(std::move(done)); }, 3s);
    });
    auto b = c.conn->read_frame(2s);
    ASSERT_TRUE(b);
    ASSERT_TRUE(c.conn->reply(*b, "Response: Error\r\nMessage: No Contacts found\r\n"));
    auto empty = second.get();
    ASSERT_TRUE(empty && *empty) << (empty && !*empty ? empty->error().describe() : "");
    EXPECT_TRUE(empty->value().empty());
}

TEST(AmiClientFake, AsteriskErrorResponseCarriesItsMessage) {
    FakeAmiServer server;
    Connected c(server, settings_for(server));
    auto result = std::async(std::launch::async,
                             [&] { return c.h.call<std::string>(getvar(c.h, "X/1", "V"), 3s); });
    auto a = c.conn->read_frame(2s);
    ASSERT_TRUE(a);
    ASSERT_TRUE(c.conn->reply(*a, "Response: Error\r\nMessage: No such channel\r\n"));
    auto r = result.get();
    ASSERT_TRUE(r);
    ASSERT_FALSE(*r);
    EXPECT_EQ(r->error().kind, Error::Kind::asterisk);
    EXPECT_EQ(r->error().message, "No such channel");
    EXPECT_EQ(r->error().response.get("Response"), "Error");
}

TEST(AmiClientFake, AnActionTimesOutTheLateReplyIsIgnoredAndTheConnectionStays) {
    FakeAmiServer server;
    auto s = settings_for(server);
    s.action_timeout = 200ms;
    Connected c(server, s);
    auto result = std::async(std::launch::async,
                             [&] { return c.h.call<std::string>(getvar(c.h, "X/1", "V"), 3s); });
    auto a = c.conn->read_frame(2s);
    ASSERT_TRUE(a);
    auto r = result.get();
    ASSERT_TRUE(r) << "the handler was not called within 3 s";
    ASSERT_FALSE(*r);
    EXPECT_EQ(r->error().kind, Error::Kind::timeout);
    EXPECT_NE(r->error().message.find("Getvar"), std::string::npos) << r->error().message;
    ASSERT_TRUE(c.conn->reply(*a, "Response: Success\r\nValue: late\r\n"));
    auto ping = std::async(std::launch::async, [&] {
        return c.h.call<Message>([&](auto done) { c.h.client().ping(std::move(done)); }, 3s);
    });
    auto p = c.conn->read_frame(2s);
    ASSERT_TRUE(p);
    ASSERT_TRUE(c.conn->reply(*p, "Response: Success\r\nPing: Pong\r\n"));
    auto pr = ping.get();
    ASSERT_TRUE(pr && *pr);
    EXPECT_EQ(c.h.client().stats().late_replies, 1u);
    EXPECT_EQ(c.h.states.size(), 0u) << "no state change: the connection stayed up";
}

TEST(AmiClientFake, ItemsOfATimedOutListAreNotTakenForEvents) {
    FakeAmiServer server;
    auto s = settings_for(server);
    s.action_timeout = 200ms;
    Connected c(server, s);
    auto result = std::async(std::launch::async, [&] {
        return c.h.call<std::vector<ChannelInfo>>(
            [&](auto done) { c.h.client().core_show_channels(std::move(done)); }, 3s);
    });
    auto a = c.conn->read_frame(2s);
    ASSERT_TRUE(a);
    const std::string id = a->get_or("ActionID", "");
    ASSERT_TRUE(
        c.conn->send("Response: Success\r\nActionID: " + id + "\r\nEventList: start\r\n\r\n"));
    auto r = result.get();
    ASSERT_TRUE(r && !*r);
    EXPECT_EQ(r->error().kind, Error::Kind::timeout);
    ASSERT_TRUE(c.conn->send("Event: CoreShowChannel\r\nActionID: " + id +
                             "\r\nChannel: PJSIP/1001-00000001\r\n\r\n"
                             "Event: CoreShowChannelsComplete\r\nActionID: " +
                             id +
                             "\r\nEventList: Complete\r\n\r\n"
                             "Event: Hangup\r\nChannel: PJSIP/1001-00000001\r\n\r\n"));
    auto next = c.h.events.next(2s);
    ASSERT_TRUE(next);
    EXPECT_EQ(next->event(), "Hangup") << "a late list item reached the application";
    EXPECT_EQ(c.h.client().stats().late_replies, 2u);
}

TEST(AmiClientFake, ActionsBeforeLoginAndInvalidActionsFailWithoutWriting) {
    FakeAmiServer server;
    ClientHarness h(settings_for(server));
    auto early = h.call<std::string>(getvar(h, "X/1", "V"), 3s);
    ASSERT_TRUE(early);
    ASSERT_FALSE(*early);
    EXPECT_EQ(early->error().kind, Error::Kind::not_connected);

    h.client().start();
    auto conn = server.accept(3s);
    ASSERT_TRUE(conn && conn->accept_login(3s));
    ASSERT_TRUE(h.wait_state(Kind::connected, 3s));
    auto injected = h.call<std::string>(getvar(h, "X/1", "V\r\nAction: Logoff"), 3s);
    ASSERT_TRUE(injected);
    ASSERT_FALSE(*injected);
    EXPECT_EQ(injected->error().kind, Error::Kind::invalid);
    auto bad_event = h.call<Message>(
        [&](auto done) { h.client().pjsip_notify_channel("PJSIP/1", "talk,x", std::move(done)); },
        3s);
    ASSERT_TRUE(bad_event && !*bad_event);
    EXPECT_EQ(bad_event->error().kind, Error::Kind::invalid);
    auto bad_user = h.call<Message>(
        [&](auto done) {
            h.client().user_event("U", {{"Event", "talk"}}, std::move(done));
        },
        3s);
    ASSERT_TRUE(bad_user && !*bad_user);
    EXPECT_EQ(bad_user->error().kind, Error::Kind::invalid);
    EXPECT_FALSE(conn->read_frame(300ms)) << "an invalid action must write nothing";
}

TEST(AmiClientFake, WorksWhenEveryByteArrivesInItsOwnSegment) {
    FakeAmiServer server;
    ClientHarness h(settings_for(server));
    h.client().start();
    auto conn = server.accept(3s);
    ASSERT_TRUE(conn);
    ASSERT_TRUE(conn->send_bytewise(kBanner));
    auto login = conn->read_frame(3s);
    ASSERT_TRUE(login);
    ASSERT_TRUE(
        conn->send_bytewise("Response: Success\r\nActionID: " + login->get_or("ActionID", "") +
                            "\r\nMessage: Authentication accepted\r\n\r\n"
                            "Event: FullyBooted\r\nStatus: Fully Booted\r\n\r\n"));
    ASSERT_TRUE(h.wait_state(Kind::connected, 3s));
    ASSERT_TRUE(h.wait_event("FullyBooted", 3s));
    auto result = std::async(std::launch::async, [&] {
        return h.call<std::vector<ChannelInfo>>(
            [&](auto done) { h.client().core_show_channels(std::move(done)); }, 5s);
    });
    auto a = conn->read_frame(2s);
    ASSERT_TRUE(a);
    const std::string id = a->get_or("ActionID", "");
    ASSERT_TRUE(conn->send_bytewise("Response: Success\r\nActionID: " + id +
                                    "\r\nEventList: start\r\n\r\n"
                                    "Event: CoreShowChannel\r\nActionID: " +
                                    id +
                                    "\r\nChannel: Local/a@b-0001;1\r\n\r\n"
                                    "Event: CoreShowChannelsComplete\r\nActionID: " +
                                    id + "\r\nEventList: Complete\r\n\r\n"));
    auto r = result.get();
    ASSERT_TRUE(r && *r);
    ASSERT_EQ(r->value().size(), 1u);
    EXPECT_EQ(r->value()[0].channel, "Local/a@b-0001;1");
}

TEST(AmiClientFake, GarbageFramesAreDroppedAndCountedWhileTheConnectionStays) {
    FakeAmiServer server;
    Connected c(server, settings_for(server));
    ASSERT_TRUE(
        c.conn->send("this is not AMI\r\n\x00\xff\xfe garbage\r\n\r\n"s +
                     "--END COMMAND--\r\n\r\nEvent: UserEvent\r\nUserEvent: After\r\n\r\n"));
    auto ev = c.h.wait_event("UserEvent", 3s);
    ASSERT_TRUE(ev);
    EXPECT_EQ(ev->get("UserEvent"), "After");
    EXPECT_EQ(c.h.client().stats().malformed_frames, 2u);
    auto ping = std::async(std::launch::async, [&] {
        return c.h.call<Message>([&](auto done) { c.h.client().ping(std::move(done)); }, 3s);
    });
    auto p = c.conn->read_frame(2s);
    ASSERT_TRUE(p);
    ASSERT_TRUE(c.conn->reply(*p, "Response: Success\r\nPing: Pong\r\n"));
    auto pr = ping.get();
    ASSERT_TRUE(pr && *pr);
}

TEST(AmiClientFake, AServerWithoutAnAmiBannerIsRefusedBeforeLogin) {
    FakeAmiServer server;
    ClientHarness h(settings_for(server));
    h.client().start();
    auto conn = server.accept(3s);
    ASSERT_TRUE(conn);
    ASSERT_TRUE(conn->send("HTTP/1.1 400 Bad Request\r\n\r\n"));
    auto st = h.wait_state(Kind::disconnected, 3s);
    ASSERT_TRUE(st);
    EXPECT_NE(st->reason.find("not an AMI server"), std::string::npos) << st->reason;
    EXPECT_FALSE(conn->read_frame(300ms)) << "no Login (and no secret) to a non-AMI server";
    EXPECT_TRUE(conn->wait_closed(1s));
}

TEST(AmiClientFake, AnOversizedFrameDropsTheConnectionFailsInFlightActionsAndReconnects) {
    FakeAmiServer server;
    auto s = settings_for(server);
    s.max_frame_bytes = 1024;
    Connected c(server, s);
    auto result = std::async(std::launch::async,
                             [&] { return c.h.call<std::string>(getvar(c.h, "X/1", "V"), 3s); });
    ASSERT_TRUE(c.conn->read_frame(2s));
    ASSERT_TRUE(c.conn->send("Event: Huge\r\nData: " + std::string(4000, 'x') + "\r\n\r\n"));
    auto r = result.get();
    ASSERT_TRUE(r);
    ASSERT_FALSE(*r);
    EXPECT_EQ(r->error().kind, Error::Kind::disconnected);
    EXPECT_NE(r->error().message.find("not re-sent"), std::string::npos) << r->error().message;
    auto st = c.h.wait_state(Kind::disconnected, 3s);
    ASSERT_TRUE(st);
    EXPECT_NE(st->reason.find("exceeds 1024 bytes"), std::string::npos) << st->reason;
    EXPECT_TRUE(c.conn->wait_closed(2s));
    auto again = server.accept(3s);
    ASSERT_TRUE(again) << "the client did not reconnect";
    ASSERT_TRUE(again->accept_login(3s));
    ASSERT_TRUE(c.h.wait_state(Kind::connected, 3s));
    EXPECT_FALSE(c.h.wait_event("Huge", 100ms));
}

TEST(AmiClientFake, ASilentServerIsDetectedByThePongDeadline) {
    FakeAmiServer server;
    auto s = settings_for(server);
    s.keepalive_interval = 100ms;
    s.pong_deadline = 300ms;
    Connected c(server, s);
    auto ping = c.conn->read_frame(2s);
    ASSERT_TRUE(ping);
    EXPECT_EQ(ping->get("Action"), "Ping");
    auto st = c.h.wait_state(Kind::disconnected, 3s);
    ASSERT_TRUE(st) << "a server that never answers Ping was not detected";
    EXPECT_NE(st->reason.find("keepalive Ping"), std::string::npos) << st->reason;
    EXPECT_TRUE(c.conn->wait_closed(2s));
    auto again = server.accept(3s);
    ASSERT_TRUE(again) << "the client did not reconnect";
    ASSERT_TRUE(again->accept_login(3s));
    ASSERT_TRUE(c.h.wait_state(Kind::connected, 3s));
}

TEST(AmiClientFake, AnAnsweredKeepaliveKeepsTheConnection) {
    FakeAmiServer server;
    auto s = settings_for(server);
    s.keepalive_interval = 50ms;
    s.pong_deadline = 300ms;
    Connected c(server, s);
    for (int i = 0; i < 5; ++i) {
        auto ping = c.conn->read_frame(2s);
        ASSERT_TRUE(ping);
        ASSERT_EQ(ping->get("Action"), "Ping");
        ASSERT_TRUE(c.conn->reply(*ping, "Response: Success\r\nPing: Pong\r\n"));
    }
    EXPECT_EQ(c.h.states.size(), 0u);
    EXPECT_EQ(c.h.client().stats().disconnects, 0u);
}

TEST(AmiClientFake, AServerClosingMidActionFailsItAndItIsNotResent) {
    FakeAmiServer server;
    Connected c(server, settings_for(server));
    auto result = std::async(std::launch::async,
                             [&] { return c.h.call<std::string>(getvar(c.h, "X/1", "V"), 3s); });
    auto a = c.conn->read_frame(2s);
    ASSERT_TRUE(a);
    c.conn->close();
    auto r = result.get();
    ASSERT_TRUE(r);
    ASSERT_FALSE(*r);
    EXPECT_EQ(r->error().kind, Error::Kind::disconnected);
    EXPECT_NE(r->error().message.find("Getvar"), std::string::npos) << r->error().message;
    EXPECT_NE(r->error().message.find("closed"), std::string::npos) << r->error().message;
    auto st = c.h.wait_state(Kind::disconnected, 3s);
    ASSERT_TRUE(st);
    EXPECT_GT(st->retry_in.count(), 0);
    auto again = server.accept(3s);
    ASSERT_TRUE(again);
    ASSERT_TRUE(again->accept_login(3s));
    ASSERT_TRUE(c.h.wait_state(Kind::connected, 3s));
    EXPECT_FALSE(again->read_frame(500ms)) << "the failed Getvar was re-sent after reconnect";
}

TEST(AmiClientFake, ABadLoginIsReportedAndNotRetriedInATightLoop) {
    FakeAmiServer server;
    auto s = settings_for(server);
    s.reconnect_min = 10ms;
    s.reconnect_max = 1500ms;
    ClientHarness h(s);
    h.client().start();
    auto conn = server.accept(3s);
    ASSERT_TRUE(conn);
    ASSERT_TRUE(conn->send(kBanner));
    auto login = conn->read_frame(3s);
    ASSERT_TRUE(login);
    ASSERT_TRUE(conn->reply(*login, "Response: Error\r\nMessage: Authentication failed\r\n"));
    auto st = h.wait_state(Kind::login_failed, 3s);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->reason, "Authentication failed");
    EXPECT_EQ(st->retry_in, 1500ms);
    EXPECT_FALSE(server.accept(700ms)) << "retried a refused login within 0.7 s";
    EXPECT_TRUE(server.accept(3s)) << "never retried after reconnect_max";
}

TEST(AmiClientFake, ReconnectDelaysGrowExponentiallyUpToTheCap) {
    std::uint16_t dead_port = 0;
    Settings s;
    {
        FakeAmiServer gone;
        s = settings_for(gone);
        dead_port = gone.port();
    }
    s.port = dead_port;
    s.reconnect_min = 20ms;
    s.reconnect_max = 80ms;
    s.reconnect_jitter = 0.0;
    ClientHarness h(s);
    h.client().start();
    std::vector<long> delays;
    for (int i = 0; i < 5; ++i) {
        auto st = h.wait_state(Kind::disconnected, 3s);
        ASSERT_TRUE(st);
        EXPECT_NE(st->reason.find("cannot connect"), std::string::npos) << st->reason;
        EXPECT_EQ(st->failed_attempts, static_cast<unsigned>(i + 1));
        delays.push_back(static_cast<long>(st->retry_in.count()));
    }
    EXPECT_EQ(delays, (std::vector<long>{20, 40, 80, 80, 80}));
}

TEST(AmiClientFake, StopFailsPendingActionsAndEndsReconnecting) {
    FakeAmiServer server;
    Connected c(server, settings_for(server));
    auto result = std::async(std::launch::async,
                             [&] { return c.h.call<std::string>(getvar(c.h, "X/1", "V"), 3s); });
    ASSERT_TRUE(c.conn->read_frame(2s));
    c.h.client().stop();
    auto r = result.get();
    ASSERT_TRUE(r && !*r);
    EXPECT_EQ(r->error().kind, Error::Kind::stopped);
    EXPECT_TRUE(c.conn->wait_closed(2s));
    EXPECT_FALSE(server.accept(300ms)) << "a stopped client reconnected";
}

TEST(AmiClientFake, TheSecretNeverAppearsInTheLog) {
    CapturedLog log;
    {
        FakeAmiServer server;
        auto s = settings_for(server);
        s.action_timeout = 100ms;
        Connected c(server, s, log.logger);
        auto r = c.h.call<std::string>(getvar(c.h, "X/1", "V"), 3s);
        ASSERT_TRUE(r && !*r);
        c.conn->close();
        ASSERT_TRUE(c.h.wait_state(Kind::disconnected, 3s));
        auto again = server.accept(3s);
        ASSERT_TRUE(again && again->send(kBanner));
        auto login = again->read_frame(3s);
        ASSERT_TRUE(login);
        ASSERT_TRUE(again->reply(*login, "Response: Error\r\nMessage: Authentication failed\r\n"));
        ASSERT_TRUE(c.h.wait_state(Kind::login_failed, 3s));
    }
    const std::string text = log.text();
    EXPECT_NE(text.find("AMI connected"), std::string::npos) << text;
    EXPECT_NE(text.find("Authentication failed"), std::string::npos) << text;
    EXPECT_NE(text.find("Login"), std::string::npos) << text;
    EXPECT_EQ(text.find(kSecret), std::string::npos) << text;
}

}  // namespace

// Issue 11: an action handler that throws (an application bug) is caught, counted and logged;
// the client goes on with the next event and the next reply.
TEST(AmiClientFake, AThrowingHandlerIsCountedAndTheClientGoesOn) {
    FakeAmiServer server;
    std::atomic<int> errors{0};
    auto s = settings_for(server);
    s.on_handler_error = [&errors] { ++errors; };
    Connected c(server, s);
    c.h.client().ping([](auto) { throw std::runtime_error("handler bug"); });
    auto a1 = c.conn->read_frame(2s);
    ASSERT_TRUE(a1);
    ASSERT_TRUE(c.conn->reply(*a1, "Response: Success\r\nPing: Pong\r\n"));
    ASSERT_TRUE(c.conn->send("Event: UserEvent\r\nUserEvent: AfterTheThrow\r\n\r\n"));
    EXPECT_TRUE(c.h.wait_event("UserEvent", 2s));
    EXPECT_EQ(errors.load(), 1);

    auto p = std::make_shared<std::promise<talkgate::ami::Result<Message>>>();
    c.h.client().ping([p](auto r) { p->set_value(std::move(r)); });
    auto a2 = c.conn->read_frame(2s);
    ASSERT_TRUE(a2);
    ASSERT_TRUE(c.conn->reply(*a2, "Response: Success\r\nPing: Pong\r\n"));
    auto f = p->get_future();
    ASSERT_EQ(f.wait_for(3s), std::future_status::ready);
    auto r = f.get();
    EXPECT_TRUE(r) << r.error().describe();
    EXPECT_EQ(errors.load(), 1);
    EXPECT_EQ(c.h.client().stats().handler_errors, 1u);
    EXPECT_EQ(c.h.client().stats().connects, 1u) << "the connection was kept";
}
