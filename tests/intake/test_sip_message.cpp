// SIP parsing: Genesys's NOTIFY in several styles, and messages that must be refused.
#include "intake/notify_event.hpp"
#include "intake/sip_message.hpp"
#include "intake_hep_builder.hpp"

#include <gtest/gtest.h>

namespace {

using talkgate::intake::NotifyKind;
using talkgate::intake::NotifySource;
using talkgate::intake::parse_sip;

// Test messages are written with '\n'; this turns them into CRLF SIP.
std::string crlf(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '\n') out += '\r';
        out += c;
    }
    return out;
}

TEST(SipMessage, ParsesGenesysNotifyTalk) {
    const std::string text = talkgate::test::genesys_notify("call-1@10.0.0.5", 7);
    auto m = parse_sip(text);
    ASSERT_TRUE(m) << m.error();
    EXPECT_TRUE(m->is_request);
    EXPECT_EQ(m->method, "NOTIFY");
    EXPECT_EQ(m->request_uri, "sip:1002@127.0.0.1:5060");
    EXPECT_EQ(m->call_id, "call-1@10.0.0.5");
    EXPECT_EQ(m->cseq, 7u);
    EXPECT_EQ(m->cseq_method, "NOTIFY");
    EXPECT_EQ(m->from.uri, "sip:genesys@127.0.0.2:5060");
    EXPECT_EQ(m->from.tag, "gen-tag-1");
    EXPECT_EQ(m->from.user, "genesys");
    EXPECT_EQ(m->to.uri, "sip:1002@127.0.0.1:5060");
    EXPECT_EQ(m->to.user, "1002");
    EXPECT_EQ(m->to.tag, "ast-tag-2");
    EXPECT_EQ(m->event, "talk");
    EXPECT_EQ(m->event_params, "");
    EXPECT_EQ(m->subscription_state, "active");
    EXPECT_EQ(m->call_uuid, "01GENESYSCALLUUID0000000001");
    EXPECT_TRUE(m->has_content_length);
    EXPECT_EQ(m->content_length, 0u);
    EXPECT_EQ(m->body, "");

    const auto t0 = std::chrono::steady_clock::now();
    auto e = talkgate::intake::notify_from_sip(*m, NotifySource::hep, "127.0.0.2:5060", t0);
    ASSERT_TRUE(e) << e.error();
    EXPECT_EQ(e->kind, NotifyKind::talk);
    EXPECT_EQ(e->event, "talk");
    EXPECT_EQ(e->dn, "1002");
    EXPECT_EQ(e->call_id, "call-1@10.0.0.5");
    EXPECT_EQ(e->call_uuid, "01GENESYSCALLUUID0000000001");
    EXPECT_EQ(e->cseq, 7u);
    EXPECT_EQ(e->from_tag, "gen-tag-1");
    EXPECT_EQ(e->to_tag, "ast-tag-2");
    EXPECT_EQ(e->subscription_state, "active");
    EXPECT_EQ(e->source, NotifySource::hep);
    EXPECT_EQ(e->source_address, "127.0.0.2:5060");
    EXPECT_EQ(e->received_at, t0);
}

TEST(SipMessage, AcceptsCompactFormsAnyCaseLfOnlyAndStyleVariants) {
    const std::string text =
        "NOTIFY sips:1003@gw.example;transport=tls SIP/2.0\n"
        "v: SIP/2.0/TLS 10.0.0.5:5061;branch=z9hG4bKx\n"
        "f: \"Genesys <SIP> \\\"Server\\\"\" <sips:gs@10.0.0.5>;tag=abc\n"
        "t:<sips:1003;npdi@gw.example> ; TAG = def\n"
        "i:   cid-9  \n"
        "cseq:\t12   NOTIFY\n"
        "m: <sips:gs@10.0.0.5>\n"
        "o: HOLD;id=7;Reason=x\n"
        "SUBSCRIPTION-STATE : terminated;reason=noresource\n"
        "x-genesys-calluuid: U-1\n"
        "l: 4\n"
        "\n"
        "bodyEXTRA";
    auto m = parse_sip(text);
    ASSERT_TRUE(m) << m.error();
    EXPECT_EQ(m->call_id, "cid-9");
    EXPECT_EQ(m->cseq, 12u);
    EXPECT_EQ(m->from.tag, "abc");
    EXPECT_EQ(m->from.uri, "sips:gs@10.0.0.5");
    EXPECT_EQ(m->to.user, "1003");
    EXPECT_EQ(m->to.tag, "def");
    EXPECT_EQ(m->event, "HOLD");
    EXPECT_EQ(m->subscription_state, "terminated");
    EXPECT_EQ(m->call_uuid, "U-1");
    EXPECT_EQ(m->body, "body") << "bytes past Content-Length are dropped (RFC 3261 18.3)";

    auto e = talkgate::intake::notify_from_sip(*m, NotifySource::hep, "", {});
    ASSERT_TRUE(e) << e.error();
    EXPECT_EQ(e->kind, NotifyKind::hold);
    ASSERT_EQ(e->event_params.size(), 2u);
    EXPECT_EQ(e->event_params[0], (std::pair<std::string, std::string>("id", "7")));
    EXPECT_EQ(e->event_params[1], (std::pair<std::string, std::string>("Reason", "x")));
}

TEST(SipMessage, UnfoldsContinuationLines) {
    const std::string text = crlf(
        "NOTIFY sip:1002@h SIP/2.0\n"
        "From: \"Genesys\"\n"
        "  <sip:gs@h>\n"
        "\t;tag=ft\n"
        "To: <sip:1002@h>;tag=tt\n"
        "Call-ID: c1\n"
        "CSeq: 3\n"
        " NOTIFY\n"
        "Event: talk\n"
        " ;id=1\n"
        "X-Genesys-CallUUID:\n"
        "   UUID-FOLDED\n"
        "Content-Length: 0\n\n");
    auto m = parse_sip(text);
    ASSERT_TRUE(m) << m.error();
    EXPECT_EQ(m->from.uri, "sip:gs@h");
    EXPECT_EQ(m->from.tag, "ft");
    EXPECT_EQ(m->cseq, 3u);
    EXPECT_EQ(m->cseq_method, "NOTIFY");
    EXPECT_EQ(m->event, "talk");
    EXPECT_EQ(m->call_uuid, "UUID-FOLDED");
    auto e = talkgate::intake::notify_from_sip(*m, NotifySource::hep, "", {});
    ASSERT_TRUE(e);
    ASSERT_EQ(e->event_params.size(), 1u);
    EXPECT_EQ(e->event_params[0].first, "id");
}

TEST(SipMessage, AcceptsRepeatedHeadersThatAgree) {
    const std::string text = crlf(
        "NOTIFY sip:1002@h SIP/2.0\n"
        "Via: SIP/2.0/UDP a;branch=z9hG4bK1\n"
        "Via: SIP/2.0/UDP b;branch=z9hG4bK2\n"
        "Call-ID: same\n"
        "i: same\n"
        "From: <sip:a@h>;tag=1\nTo: <sip:1002@h>\nCSeq: 1 NOTIFY\nEvent: talk\n\n");
    auto m = parse_sip(text);
    ASSERT_TRUE(m) << m.error();
    EXPECT_EQ(m->call_id, "same");
    EXPECT_FALSE(m->has_content_length);
    EXPECT_EQ(m->to.tag, "") << "a NOTIFY before any To tag still parses";
}

TEST(SipMessage, ParsesResponsesAndAddrSpecForms) {
    const std::string text = crlf(
        "SIP/2.0 180 Ringing\n"
        "From: sip:gs@h;tag=abc\n"
        "To: tel:+4930123;phone-context=x;tag=xyz\n"
        "Call-ID: r1\nCSeq: 1 INVITE\nContent-Length: 0\n\n");
    auto m = parse_sip(text);
    ASSERT_TRUE(m) << m.error();
    EXPECT_FALSE(m->is_request);
    EXPECT_EQ(m->status_code, 180);
    EXPECT_EQ(m->reason, "Ringing");
    EXPECT_EQ(m->from.uri, "sip:gs@h");
    EXPECT_EQ(m->from.tag, "abc");
    EXPECT_EQ(m->to.uri, "tel:+4930123");
    EXPECT_EQ(m->to.user, "+4930123");
    EXPECT_EQ(m->to.tag, "xyz");
}

TEST(SipMessage, NotifyEventNeedsEventAndDn) {
    // the parsed views point into these strings, so they outlive the results
    const std::string no_event_text = crlf(
        "NOTIFY sip:1002@h SIP/2.0\nFrom: <sip:a@h>;tag=1\nTo: <sip:1002@h>\nCall-ID: x\n"
        "CSeq: 1 NOTIFY\n\n");
    auto no_event = parse_sip(no_event_text);
    ASSERT_TRUE(no_event) << no_event.error();
    EXPECT_FALSE(talkgate::intake::notify_from_sip(*no_event, NotifySource::hep, "", {}));

    const std::string no_user_text = crlf(
        "NOTIFY sip:h SIP/2.0\nFrom: <sip:a@h>;tag=1\nTo: <sip:h>\nCall-ID: x\n"
        "CSeq: 1 NOTIFY\nEvent: talk\n\n");
    auto no_user = parse_sip(no_user_text);
    ASSERT_TRUE(no_user) << no_user.error();
    auto e = talkgate::intake::notify_from_sip(*no_user, NotifySource::hep, "", {});
    EXPECT_FALSE(e);
    EXPECT_NE(e.error().find("DN"), std::string::npos) << e.error();

    const std::string invite_text = crlf(
        "INVITE sip:1002@h SIP/2.0\nFrom: <sip:a@h>;tag=1\nTo: <sip:1002@h>\nCall-ID: x\n"
        "CSeq: 1 INVITE\n\n");
    auto invite = parse_sip(invite_text);
    ASSERT_TRUE(invite);
    EXPECT_FALSE(talkgate::intake::notify_from_sip(*invite, NotifySource::hep, "", {}));
}

struct Bad {
    const char* name;
    std::string text;
    const char* error_contains;
};

TEST(SipMessage, RefusesBrokenMessagesWithAReason) {
    const std::string ok_headers =
        "From: <sip:a@h>;tag=1\nTo: <sip:1002@h>\nCall-ID: c\nCSeq: 1 NOTIFY\n";
    const std::vector<Bad> bad = {
        {"empty", "", "start line"},
        {"no line end", "NOTIFY sip:x SIP/2.0", "start line"},
        {"missing Call-ID",
         "NOTIFY sip:1002@h SIP/2.0\nFrom: <sip:a@h>;tag=1\nTo: <sip:1002@h>\nCSeq: 1 NOTIFY\n\n",
         "missing Call-ID"},
        {"missing CSeq",
         "NOTIFY sip:1002@h SIP/2.0\nFrom: <sip:a@h>\nTo: <sip:b@h>\nCall-ID: c\n\n",
         "missing CSeq"},
        {"missing From", "NOTIFY sip:1002@h SIP/2.0\nTo: <sip:b@h>\nCall-ID: c\nCSeq: 1 NOTIFY\n\n",
         "missing From"},
        {"headers not terminated", "NOTIFY sip:1002@h SIP/2.0\n" + ok_headers, "not terminated"},
        {"Content-Length past the end",
         "NOTIFY sip:1002@h SIP/2.0\n" + ok_headers + "Content-Length: 10\n\nabc", "past the end"},
        {"Content-Length not a number",
         "NOTIFY sip:1002@h SIP/2.0\n" + ok_headers + "Content-Length: -1\n\n", "Content-Length"},
        {"Content-Length overflow",
         "NOTIFY sip:1002@h SIP/2.0\n" + ok_headers + "l: 99999999999\n\n", "Content-Length"},
        {"conflicting Content-Length",
         "NOTIFY sip:1002@h SIP/2.0\n" + ok_headers + "Content-Length: 0\nl: 3\n\nabc",
         "conflicting Content-Length"},
        {"conflicting Call-ID", "NOTIFY sip:1002@h SIP/2.0\n" + ok_headers + "i: other\n\n",
         "conflicting Call-ID"},
        {"Call-ID with a space", "NOTIFY sip:1002@h SIP/2.0\nCall-ID: a b\n\n", "bad Call-ID"},
        {"empty Call-ID", "NOTIFY sip:1002@h SIP/2.0\nCall-ID:\n\n", "bad Call-ID"},
        {"CSeq too large", "NOTIFY sip:1002@h SIP/2.0\nCSeq: 2147483648 NOTIFY\n\n", "bad CSeq"},
        {"CSeq without method", "NOTIFY sip:1002@h SIP/2.0\nCSeq: 5\n\n", "bad CSeq method"},
        {"CSeq method mismatch",
         "NOTIFY sip:1002@h SIP/2.0\nFrom: <sip:a@h>\nTo: <sip:b@h>\nCall-ID: c\nCSeq: 1 INFO\n\n",
         "differs from request method"},
        {"bad version", "NOTIFY sip:1002@h SIP/3.0\n" + ok_headers + "\n", "bad start line"},
        {"four words", "NOTIFY sip:1002@h x SIP/2.0\n" + ok_headers + "\n", "bad start line"},
        {"bad method", "NOT(IFY sip:1002@h SIP/2.0\n" + ok_headers + "\n", "bad method"},
        {"bad status code", "SIP/2.0 20 OK\n" + ok_headers + "\n", "bad status code"},
        {"header without colon", "NOTIFY sip:1002@h SIP/2.0\nCall-ID c\n\n", "without ':'"},
        {"bad header name", "NOTIFY sip:1002@h SIP/2.0\nCall ID: c\n\n", "bad header name"},
        {"folding before any header", "NOTIFY sip:1002@h SIP/2.0\n folded\n\n", "continuation"},
        {"To without closing bracket", "NOTIFY sip:1002@h SIP/2.0\nTo: <sip:1002@h\n\n", "bad To"},
        {"To with junk after bracket", "NOTIFY sip:1002@h SIP/2.0\nTo: <sip:1002@h> x\n\n",
         "bad To"},
        {"From unterminated display", "NOTIFY sip:1002@h SIP/2.0\nFrom: \"abc <sip:a@h>\n\n",
         "bad From"},
        {"From without URI", "NOTIFY sip:1002@h SIP/2.0\nFrom: nobody\n\n", "bad From"},
        {"Event not a token", "NOTIFY sip:1002@h SIP/2.0\nEvent: (talk)\n\n", "bad Event"},
    };
    for (const auto& b : bad) {
        auto m = parse_sip(crlf(b.text));
        EXPECT_FALSE(m) << b.name;
        EXPECT_NE(m.error().find(b.error_contains), std::string::npos)
            << b.name << ": error was '" << m.error() << "'";
    }
}

TEST(SipMessage, EveryPrefixOfANotifyIsRefusedOrParsesConsistently) {
    const std::string text = talkgate::test::genesys_notify("prefix-call", 1);
    for (std::size_t n = 0; n + 2 < text.size(); ++n) {
        auto m = parse_sip(std::string_view(text.data(), n));
        EXPECT_FALSE(m) << "a prefix of " << n << " bytes has no empty line after the headers";
    }
    EXPECT_TRUE(parse_sip(text));
}

}  // namespace
