#pragma once

#include "ari/client_config.hpp"
#include "ari/executor.hpp"
#include "ari/models.hpp"
#include "ari/result.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ari {

// POST /channels/create
struct CreateChannelParams {
    std::string endpoint;  // e.g. PJSIP/1002
    std::string app;       // empty: the client's app
    std::string app_args;  // comma separated, as in Stasis()
    std::string channel_id;
    std::string other_channel_id;
    std::string originator;  // channel id whose linkedid/codecs the new one inherits
    nlohmann::json variables = nlohmann::json::object();  // e.g. PJSIP_HEADER(add,X-A): v
};

// POST /channels (originate into the app)
struct OriginateParams {
    std::string endpoint;
    std::string app;  // empty: the client's app
    std::string app_args;
    std::string channel_id;
    std::string other_channel_id;
    std::string originator;
    std::string caller_id;  // "Name" <number>
    int timeout_s = 30;     // ring time before giving up
    nlohmann::json variables = nlohmann::json::object();
};

// POST /channels/{id}/dtmf
struct DtmfParams {
    std::string dtmf;
    int before_ms = 0;
    int between_ms = 100;
    int duration_ms = 100;
    int after_ms = 0;
};

// Asynchronous ARI REST calls. Every call has a hard deadline (request_timeout) and completes
// exactly once with a value or an Error, on the executor given to the constructor.
// Safe to call from any thread; completions pending at destruction are delivered as canceled.
class RestClient {
  public:
    template <class T>
    using Handler = std::function<void(Result<T>)>;
    using JsonHandler = Handler<nlohmann::json>;
    using DoneHandler = Handler<NoContent>;

    RestClient(ClientConfig config, Executor executor);
    ~RestClient();
    RestClient(const RestClient&) = delete;
    RestClient& operator=(const RestClient&) = delete;

    void asterisk_info(JsonHandler done);

    void channels_list(Handler<std::vector<Channel>> done);
    void channel_get(const std::string& id, Handler<Channel> done);
    void channel_answer(const std::string& id, DoneHandler done);
    void channel_ring(const std::string& id, DoneHandler done);
    void channel_ring_stop(const std::string& id, DoneHandler done);
    void channel_hold(const std::string& id, DoneHandler done);
    void channel_unhold(const std::string& id, DoneHandler done);
    // reason: normal, busy, congestion, no_answer, ...; or reason_code (Q.850) when > 0.
    void channel_hangup(const std::string& id, const std::string& reason, DoneHandler done,
                        int reason_code = 0);
    void channel_create(const CreateChannelParams& params, Handler<Channel> done);
    // caller: the channel that placed the call (for Dial events); timeout_s 0: none.
    void channel_dial(const std::string& id, const std::string& caller, int timeout_s,
                      DoneHandler done);
    void channel_originate(const OriginateParams& params, Handler<Channel> done);
    void channel_get_variable(const std::string& id, const std::string& variable,
                              Handler<std::string> done);
    void channel_set_variable(const std::string& id, const std::string& variable,
                              const std::string& value, DoneHandler done);
    void channel_send_dtmf(const std::string& id, const DtmfParams& params, DoneHandler done);

    void bridges_list(Handler<std::vector<Bridge>> done);
    // type: "mixing" (default), "holding", ...; bridge_id empty: Asterisk picks one.
    void bridge_create(const std::string& type, const std::string& bridge_id,
                       const std::string& name, Handler<Bridge> done);
    void bridge_add_channel(const std::string& bridge_id, const std::string& channel_id,
                            DoneHandler done);
    void bridge_remove_channel(const std::string& bridge_id, const std::string& channel_id,
                               DoneHandler done);
    void bridge_destroy(const std::string& bridge_id, DoneHandler done);

    void endpoints_list(Handler<std::vector<Endpoint>> done);
    void endpoint_get(const std::string& technology, const std::string& resource,
                      Handler<Endpoint> done);

    void application_get(const std::string& name, Handler<Application> done);
    // filter: {"allowed": [{"type": "StasisStart"}, ...], "disallowed": [...]}
    void application_set_event_filter(const std::string& name, const nlohmann::json& filter,
                                      Handler<Application> done);

    // POST /events/user/{name}: raises ChannelUserevent for source "channel:ID" etc.
    void user_event(const std::string& event_name, const std::string& source,
                    const nlohmann::json& variables, DoneHandler done);

    // Any other call: method GET/POST/PUT/DELETE, path below /ari (e.g. "/sounds"),
    // query already encoded ("a=1&b=2"), optional JSON body. Replies JSON (null on 204).
    void request(const std::string& method, const std::string& path, const std::string& query,
                 std::optional<nlohmann::json> body, JsonHandler done);

  private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace ari
