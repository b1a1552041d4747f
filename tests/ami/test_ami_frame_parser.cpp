// The AMI frame parser on its own: banner, CRLF and LF frames, repeated keys, input split at
// every byte, malformed lines, and the frame size bound.
#include "ami/frame_parser.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using talkgate::ami::FrameParser;
using talkgate::ami::Message;
using talkgate::ami::ParseOutput;

const std::string kStream =
    "Asterisk Call Manager/11.0.0\r\n"
    "Response: Success\r\nActionID: a1\r\nMessage: Authentication accepted\r\n\r\n"
    "Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n"
    "Response: Success\r\nActionID: a2\r\nOutput: line one\r\nOutput: line two\r\n"
    "Output:\r\n\r\n"
    "Event: UserEvent\nUserEvent: GenesysNotify\nNotifyEvent: talk\n\n";

void expect_stream(const ParseOutput& out) {
    ASSERT_TRUE(out.banner);
    EXPECT_EQ(*out.banner, "Asterisk Call Manager/11.0.0");
    ASSERT_EQ(out.messages.size(), 4u);
    EXPECT_EQ(out.messages[0].get("message"), "Authentication accepted");
    EXPECT_EQ(out.messages[1].event(), "FullyBooted");
    EXPECT_EQ(out.messages[1].get("Status"), "Fully Booted");
    const auto outputs = out.messages[2].get_all("Output");
    ASSERT_EQ(outputs.size(), 3u);
    EXPECT_EQ(outputs[0], "line one");
    EXPECT_EQ(outputs[1], "line two");
    EXPECT_EQ(outputs[2], "");
    EXPECT_EQ(out.messages[3].get("NotifyEvent"), "talk");
    EXPECT_EQ(out.malformed_frames, 0u);
    EXPECT_TRUE(out.error.empty());
}

TEST(AmiFrameParser, ParsesBannerFramesAndRepeatedKeys) {
    FrameParser p(4096);
    ParseOutput out;
    ASSERT_TRUE(p.feed(kStream, out));
    expect_stream(out);
    EXPECT_EQ(p.pending_bytes(), 0u);
}

TEST(AmiFrameParser, SameResultWhenSplitAtEveryByteBoundary) {
    for (std::size_t cut = 0; cut <= kStream.size(); ++cut) {
        FrameParser p(4096);
        ParseOutput out;
        ASSERT_TRUE(p.feed(std::string_view(kStream).substr(0, cut), out));
        ASSERT_TRUE(p.feed(std::string_view(kStream).substr(cut), out));
        SCOPED_TRACE("cut at " + std::to_string(cut));
        expect_stream(out);
    }
}

TEST(AmiFrameParser, SameResultFedOneByteAtATime) {
    FrameParser p(4096);
    ParseOutput out;
    for (char c : kStream) ASSERT_TRUE(p.feed(std::string_view(&c, 1), out));
    expect_stream(out);
}

TEST(AmiFrameParser, DropsFramesWithLinesThatAreNotKeyValue) {
    FrameParser p(4096);
    ParseOutput out;
    ASSERT_TRUE(
        p.feed("Asterisk Call Manager/11.0.0\r\n"
               "garbage without colon\r\nEvent: Bad\r\n\r\n"
               ": no key\r\n\r\n"
               "\x01\x02\xff\r\n\r\n"
               "Event: Good\r\n\r\n",
               out));
    EXPECT_EQ(out.malformed_frames, 3u);
    ASSERT_EQ(out.messages.size(), 1u);
    EXPECT_EQ(out.messages[0].event(), "Good");
}

TEST(AmiFrameParser, IgnoresExtraBlankLinesBetweenFrames) {
    FrameParser p(4096);
    ParseOutput out;
    ASSERT_TRUE(p.feed("B\r\n\r\n\r\nEvent: A\r\n\r\n\r\n\nEvent: B\r\n\r\n", out));
    ASSERT_EQ(out.messages.size(), 2u);
    EXPECT_EQ(out.messages[1].event(), "B");
}

TEST(AmiFrameParser, FailsOnAFrameOverTheBoundAndStaysFailed) {
    FrameParser p(64);
    ParseOutput out;
    ASSERT_TRUE(p.feed("Asterisk Call Manager/11.0.0\r\nEvent: Small\r\n\r\n", out));
    ASSERT_EQ(out.messages.size(), 1u);
    std::string big = "Event: Big\r\nData: " + std::string(80, 'x') + "\r\n\r\n";
    EXPECT_FALSE(p.feed(big, out));
    EXPECT_NE(out.error.find("exceeds 64 bytes"), std::string::npos) << out.error;
    EXPECT_EQ(out.messages.size(), 1u);
    EXPECT_TRUE(p.failed());
    ParseOutput again;
    EXPECT_FALSE(p.feed("Event: Later\r\n\r\n", again));
    p.reset();
    ParseOutput fresh;
    EXPECT_TRUE(p.feed("banner\r\nEvent: Later\r\n\r\n", fresh));
    EXPECT_EQ(fresh.messages.size(), 1u);
}

TEST(AmiFrameParser, BoundsALineThatNeverEnds) {
    FrameParser p(1024);
    ParseOutput out;
    ASSERT_TRUE(p.feed("banner\r\n", out));
    bool ok = true;
    for (int i = 0; i < 100 && ok; ++i) ok = p.feed(std::string(100, 'z'), out);
    EXPECT_FALSE(ok);
    EXPECT_LE(p.pending_bytes(), 1024u);
}

TEST(AmiFrameParser, AFrameExactlyAtTheBoundIsAccepted) {
    const std::string frame = "Event: Exact\r\nPad: " + std::string(20, 'p') + "\r\n\r\n";
    FrameParser p(frame.size());
    ParseOutput out;
    ASSERT_TRUE(p.feed("banner\r\n" + frame + frame, out));
    EXPECT_EQ(out.messages.size(), 2u);
}

}  // namespace
