#pragma once

#include "metrics/registry.hpp"
#include "status/live_events.hpp"
#include "status/status_source.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace talkgate::status {

struct StatusServerOptions {
    std::string host = "127.0.0.1";  // loopback unless opened up; IPv4 or a name (not IPv6)
    unsigned short port = 8090;
    std::string token;  // STATUS_TOKEN; empty serves /health only, the rest answer 503
    std::chrono::milliseconds deadline{2000};       // for the source's callbacks; then 503
    std::size_t max_body_bytes = 4096;              // POST bodies are tiny; anything bigger is 413
    std::chrono::milliseconds close_timeout{3000};  // stop() gives up on a stuck close after it
    std::function<void()> on_handler_error;         // once per exception a handler did not expect
    LiveEvents::Limits live;                        // GET /events: clients, backlog, heartbeat
};

// The status REST API on a cpprestsdk http_listener:
//   GET /health, GET /ready, GET /calls[?call_uuid=U], GET /calls/{dn},
//   POST /calls/{dn}/answer, GET /metrics, GET /calls/recent, GET /calls/{id}/trace,
//   GET /openapi.json, and the live web page: GET / (with /page.js, /page.css), GET /events.
// Every route but /health, /openapi.json and the page's files needs `Authorization: Bearer
// <token>`. Requests are served on cpprestsdk's threads; the controller is reached only through
// StatusSource callbacks, each with a deadline, so a busy controller slows no thread of the server
// and is never blocked. `source` and `metrics` must outlive the server.
class StatusServer {
  public:
    StatusServer(StatusServerOptions options, StatusSource& source,
                 const metrics::Registry& metrics);
    ~StatusServer();  // stops
    StatusServer(const StatusServer&) = delete;
    StatusServer& operator=(const StatusServer&) = delete;

    // Binds and serves; false with a one-line reason when it cannot (address in use, ...).
    bool start(std::string& error);
    // Answers requests still waiting for the source with 503, then closes. Idempotent. False
    // when the close did not finish within close_timeout: cpprestsdk's pool is stuck.
    bool stop();
    // http://host:port
    std::string url() const;

  private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace talkgate::status
