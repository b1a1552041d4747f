// hiredis's RESP parser behind RespReader: whole replies out, malformed input an error (never
// an exception), limits on what a peer can make it hold.
#include "ha/redis_url.hpp"
#include "ha/resp_reader.hpp"

#include <gtest/gtest.h>

namespace talkgate::ha {
namespace {

TEST(RespReader, ReadsEveryReplyType) {
    RespReader r;
    const std::string wire =
        "+OK\r\n-ERR wrong\r\n:42\r\n$5\r\nhello\r\n$-1\r\n*3\r\n:1\r\n*1\r\n$1\r\nx\r\n$-1\r\n";
    ASSERT_TRUE(r.feed(wire.data(), wire.size()));
    auto ok = r.next();
    ASSERT_TRUE(ok);
    EXPECT_TRUE(ok->is_ok());
    auto err = r.next();
    ASSERT_TRUE(err);
    EXPECT_TRUE(err->is_error());
    EXPECT_EQ(err->text, "ERR wrong");
    auto n = r.next();
    ASSERT_TRUE(n);
    EXPECT_EQ(n->type, RedisReply::Type::integer);
    EXPECT_EQ(n->integer, 42);
    auto s = r.next();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->type, RedisReply::Type::string);
    EXPECT_EQ(s->text, "hello");
    auto nil = r.next();
    ASSERT_TRUE(nil);
    EXPECT_EQ(nil->type, RedisReply::Type::nil);
    auto arr = r.next();
    ASSERT_TRUE(arr);
    ASSERT_EQ(arr->type, RedisReply::Type::array);
    ASSERT_EQ(arr->elements.size(), 3u);
    EXPECT_EQ(arr->elements[0].integer, 1);
    ASSERT_EQ(arr->elements[1].elements.size(), 1u);
    EXPECT_EQ(arr->elements[1].elements[0].text, "x");
    EXPECT_EQ(arr->elements[2].type, RedisReply::Type::nil);
    EXPECT_FALSE(r.next());
    EXPECT_EQ(r.error(), "");
}

TEST(RespReader, AReplySplitAcrossReadsComesOutWhole) {
    RespReader r;
    const std::string wire = "*2\r\n$3\r\nabc\r\n:7\r\n";
    for (std::size_t i = 0; i + 1 < wire.size(); ++i) {
        ASSERT_TRUE(r.feed(&wire[i], 1));
        EXPECT_FALSE(r.next()) << "at byte " << i;
    }
    ASSERT_TRUE(r.feed(&wire.back(), 1));
    auto reply = r.next();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->elements.at(0).text, "abc");
    EXPECT_EQ(reply->elements.at(1).integer, 7);
}

TEST(RespReader, MalformedInputIsAStickyErrorNotAnException) {
    RespReader r;
    const std::string wire = "?what\r\n";
    r.feed(wire.data(), wire.size());
    EXPECT_FALSE(r.next());
    EXPECT_NE(r.error(), "");
    EXPECT_FALSE(r.feed("+OK\r\n", 5));
    EXPECT_FALSE(r.next());
}

TEST(RespReader, AnArrayHeaderPastTheLimitFailsWithoutAllocating) {
    RespReader::Limits limits;
    limits.max_array_elements = 1000;
    RespReader r(limits);
    const std::string wire = "*2000000000\r\n";
    r.feed(wire.data(), wire.size());
    EXPECT_FALSE(r.next());
    EXPECT_NE(r.error(), "");
}

TEST(RespReader, UnparsedInputPastTheLimitFails) {
    RespReader::Limits limits;
    limits.max_pending_bytes = 1024;
    RespReader r(limits);
    const std::string header = "$100000\r\n";
    ASSERT_TRUE(r.feed(header.data(), header.size()));
    const std::string chunk(2000, 'a');
    EXPECT_FALSE(r.feed(chunk.data(), chunk.size()));
    EXPECT_NE(r.error().find("larger than"), std::string::npos);
}

TEST(RespReader, NestingDeeperThanHiredisAllowsIsAnError) {
    RespReader r;
    std::string wire;
    for (int i = 0; i < 12; ++i) wire += "*1\r\n";
    wire += ":1\r\n";
    r.feed(wire.data(), wire.size());
    EXPECT_FALSE(r.next());
    EXPECT_NE(r.error(), "");
}

TEST(FormatCommand, EncodesBinarySafeArguments) {
    EXPECT_EQ(format_command({"SET", "k", std::string("a\0b", 3)}),
              std::string("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\na\0b\r\n", 29));
}

TEST(RedisUrl, ParsesHostPortPasswordAndDb) {
    std::string error;
    auto ep = parse_redis_url("redis://:s3cr:et@@10.0.0.5:6380/2", error);
    ASSERT_TRUE(ep) << error;
    EXPECT_EQ(ep->host, "10.0.0.5");
    EXPECT_EQ(ep->port, 6380);
    EXPECT_EQ(ep->password, "s3cr:et@");
    EXPECT_EQ(ep->user, "");
    EXPECT_EQ(ep->db, 2);
    EXPECT_EQ(describe(*ep), "10.0.0.5:6380/2");

    ep = parse_redis_url("redis://talkgate:pw@[::1]", error);
    ASSERT_TRUE(ep) << error;
    EXPECT_EQ(ep->host, "::1");
    EXPECT_EQ(ep->port, 6379);
    EXPECT_EQ(ep->user, "talkgate");
    EXPECT_EQ(describe(*ep), "[::1]:6379/0");
}

TEST(RedisUrl, RefusesWhatIsNotARedisUrlWithoutEchoingThePassword) {
    for (const char* bad :
         {"http://h:1", "redis://", "redis://h:0", "redis://h:99999", "redis://h:1/x",
          "redis://nopassword@h", "redis://[::1", "redis://h:"}) {
        std::string error;
        EXPECT_FALSE(parse_redis_url(bad, error)) << bad;
        EXPECT_NE(error, "") << bad;
    }
    std::string error;
    EXPECT_FALSE(parse_redis_url("redis://:topsecret@h:port", error));
    EXPECT_EQ(error.find("topsecret"), std::string::npos);
}

}  // namespace
}  // namespace talkgate::ha
