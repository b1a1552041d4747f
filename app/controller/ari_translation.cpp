#include "controller/ari_translation.hpp"

#include "flow/call_flow.hpp"

namespace talkgate::controller {

namespace {

struct Translator {
    std::vector<flow::Event>& out;

    void operator()(const ari::StasisStart& e) {
        if (!e.args.empty() && e.args[0] == kAgentLegMarker) {
            out.push_back(flow::AgentLegEntered{e.channel.id, e.channel.name,
                                                e.args.size() > 1 ? e.args[1] : ""});
            return;
        }
        // Dialplan args: DN, Call-ID, CallUUID; fall back to what the channel itself says.
        flow::GenesysLegEntered g;
        g.channel_id = e.channel.id;
        g.channel_name = e.channel.name;
        g.dn = !e.args.empty() && !e.args[0].empty() ? e.args[0] : e.channel.dialplan.exten;
        g.call_id = e.args.size() > 1 && !e.args[1].empty() ? e.args[1] : e.channel.protocol_id;
        g.call_uuid = e.args.size() > 2 ? e.args[2] : "";
        out.push_back(std::move(g));
    }
    void operator()(const ari::ChannelStateChange& e) {
        if (e.channel.state == "Ringing") out.push_back(flow::ChannelRinging{e.channel.id});
        if (e.channel.state == "Up") out.push_back(flow::ChannelAnswered{e.channel.id});
    }
    void operator()(const ari::Dial& e) {
        if (int c = cause_for_dialstatus(e.dialstatus))
            out.push_back(flow::HangupCause{e.peer.id, c});
    }
    void operator()(const ari::ChannelHangupRequest& e) {
        if (e.soft) return;
        if (e.cause && *e.cause != 0) out.push_back(flow::HangupCause{e.channel.id, *e.cause});
        out.push_back(flow::ChannelGone{e.channel.id, e.cause.value_or(0)});
    }
    void operator()(const ari::StasisEnd& e) { out.push_back(flow::ChannelGone{e.channel.id, 0}); }
    void operator()(const ari::ChannelDestroyed& e) {
        out.push_back(flow::ChannelGone{e.channel.id, e.cause});
    }
    template <class Other>
    void operator()(const Other&) {}
};

}  // namespace

int cause_for_dialstatus(const std::string& s) {
    if (s == "BUSY") return flow::cause::user_busy;
    if (s == "NOANSWER") return flow::cause::no_answer;
    if (s == "CHANUNAVAIL") return flow::cause::subscriber_absent;
    if (s == "CONGESTION") return 34;
    return 0;
}

std::vector<flow::Event> translate(const ari::Event& event) {
    std::vector<flow::Event> out;
    std::visit(Translator{out}, event);
    return out;
}

}  // namespace talkgate::controller
