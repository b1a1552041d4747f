#pragma once

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace talkgate::bridge {

// The agent desktop's bridge HTTP API: POST {base}/answer/{dn} and
// POST {base}/genesys-call-notify {dn, call_id, call_uuid, event}. Every request is
// asynchronous with a deadline and bounded retries; completions run on the io_context.
class BridgeApiClient {
  public:
    struct Settings {
        std::string url_template;  // base URL; may contain {dn} and {contact_host}
        std::string ca_file;       // extra CA bundle for https
        bool insecure = false;     // skip certificate checks (explicit opt-in, logged)
        std::chrono::milliseconds timeout{2000};
        int retries = 2;  // on connect errors and 5xx
        std::chrono::milliseconds backoff{100};
        // A connection pool idle this long is replaced before the next request: the desktop's
        // HTTP server may have closed its idle keep-alive connections meanwhile.
        std::chrono::milliseconds pool_idle_limit{10000};
        // Runs once per exception a continuation or completion did not expect (to count it).
        std::function<void()> on_handler_error;
    };

    struct Outcome {
        bool ok = false;
        bool timed_out = false;
        int http_status = 0;
        int attempts = 0;
        std::string url;
        std::string error;
        std::chrono::nanoseconds latency{0};
    };
    using Handler = std::function<void(const Outcome&)>;

    BridgeApiClient(boost::asio::io_context& io, Settings settings);
    ~BridgeApiClient();

    bool enabled() const;
    // The template names {contact_host}: the caller must look up the agent's contact first.
    bool needs_contact_host() const;

    void answer(const std::string& dn, const std::string& contact_host, Handler done);
    void notify(const std::string& dn, const std::string& contact_host, const std::string& call_id,
                const std::string& call_uuid, const std::string& event, Handler done);

    // The base URL for a DN (template filled in); exposed for logs and tests.
    std::string base_url(const std::string& dn, const std::string& contact_host) const;

  private:
    struct State;
    std::shared_ptr<State> state_;
};

}  // namespace talkgate::bridge
