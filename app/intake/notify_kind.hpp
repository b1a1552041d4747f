#pragma once

// What Genesys asks of the agent's phone: the intake decodes it, the call flow acts on it.
namespace talkgate::intake {

enum class NotifyKind {
    talk,   // answer (ringing) or retrieve (held)
    hold,   // place the call on hold
    other,  // any other event package; the event's name says which
};

}  // namespace talkgate::intake
