#pragma once

#include <string>

namespace talkgate::flow {

// A call's identity and state kept in Asterisk itself, so that a talkgate started again (after
// a crash, an upgrade) adopts its calls. ari.conf `channelvars=` lists every one of them, so
// GET /channels carries them at no extra request.
namespace var {
constexpr const char* genesys_call_id = "GENESYS_CALL_ID";      // Genesys leg, dialplan
constexpr const char* genesys_call_uuid = "GENESYS_CALL_UUID";  // Genesys leg, dialplan/module
constexpr const char* notify_event = "GENESYS_NOTIFY_EVENT";    // Genesys leg: last NOTIFY the
constexpr const char* notify_cseq = "GENESYS_NOTIFY_CSEQ";      //   module answered (talk/hold)
constexpr const char* held = "TALKGATE_HELD";                   // Genesys leg: "1" while held
constexpr const char* call_key = "TALKGATE_CALL_KEY";           // agent leg: its call's key
constexpr const char* policy = "TALKGATE_POLICY";               // agent leg: the answer policy
}  // namespace var

// The agent leg and the bridge are named after the call key (the Genesys leg's channel id):
// a leg or bridge found after a restart tells by its id alone which call it belongs to.
inline std::string agent_channel_id(const std::string& call_key) {
    return call_key + "-agent";
}
inline std::string bridge_id(const std::string& call_key) {
    return call_key + "-bridge";
}

}  // namespace talkgate::flow
