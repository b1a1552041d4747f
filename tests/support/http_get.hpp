#pragma once
// A GET with an Authorization header and a deadline, for tests that drive a status API or ARI:
// the status, the text and its JSON (null when it is not JSON). Never throws: a transport
// error is status 0.
#include <cpprest/http_client.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>

namespace talkgate::test {

struct HttpReply {
    int status = 0;
    std::string text;
    nlohmann::json body;
};

inline HttpReply http_get(const std::string& base, const std::string& target,
                          const std::string& authorization,
                          std::chrono::seconds deadline = std::chrono::seconds(5)) {
    HttpReply r;
    try {
        web::http::client::http_client_config cfg;
        cfg.set_timeout(deadline);
        web::http::client::http_client client(base, cfg);
        web::http::http_request req(web::http::methods::GET);
        req.set_request_uri(web::uri(target));
        req.headers().add("Authorization", authorization);
        auto resp = client.request(req).get();
        r.status = resp.status_code();
        r.text = resp.extract_utf8string(true).get();
        r.body = nlohmann::json::parse(r.text, nullptr, false);
        if (r.body.is_discarded()) r.body = nullptr;
    } catch (const std::exception&) {
    }
    return r;
}

}  // namespace talkgate::test
