#include "flow/call_trace.hpp"

namespace talkgate::flow {

const char* to_string(TraceKind kind) {
    switch (kind) {
        case TraceKind::stasis_entered:
            return "stasis_entered";
        case TraceKind::adopted:
            return "adopted";
        case TraceKind::agent_leg_created:
            return "agent_leg_created";
        case TraceKind::agent_dialled:
            return "agent_dialled";
        case TraceKind::agent_ringing:
            return "agent_ringing";
        case TraceKind::genesys_rung:
            return "genesys_rung";
        case TraceKind::notify:
            return "notify";
        case TraceKind::answer_requested:
            return "answer_requested";
        case TraceKind::answer_action:
            return "answer_action";
        case TraceKind::agent_answered:
            return "agent_answered";
        case TraceKind::bridged:
            return "bridged";
        case TraceKind::hold:
            return "hold";
        case TraceKind::retrieve:
            return "retrieve";
        case TraceKind::ring_timeout:
            return "ring_timeout";
        case TraceKind::hangup:
            return "hangup";
        case TraceKind::ended:
            return "ended";
    }
    return "?";
}

}  // namespace talkgate::flow
