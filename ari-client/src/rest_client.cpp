#include "ari/rest_client.hpp"

#include <cpprest/http_client.h>

namespace ari {

struct RestClient::Impl {
    explicit Impl(ClientConfig c) : config(std::move(c)), client(make_client(config)) {}

    static web::http::client::http_client make_client(const ClientConfig& c) {
        web::http::client::http_client_config hc;
        hc.set_timeout(c.request_timeout);
        hc.set_credentials(web::credentials(c.user, c.password));
        return web::http::client::http_client(c.base_url + "/ari", hc);
    }

    ClientConfig config;
    web::http::client::http_client client;
};

RestClient::RestClient(ClientConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}
RestClient::~RestClient() = default;

void RestClient::asterisk_info(JsonHandler done) {
    impl_->client.request(web::http::methods::GET, "/asterisk/info")
        .then([done](pplx::task<web::http::http_response> t) {
            try {
                auto response = t.get();
                auto body = response.extract_string().get();
                if (response.status_code() >= 300) {
                    done(Error{Error::Kind::http, response.status_code(), body});
                    return;
                }
                auto json = nlohmann::json::parse(body, nullptr, false);
                if (json.is_discarded()) {
                    done(Error{Error::Kind::decode, 0, "not JSON"});
                    return;
                }
                done(std::move(json));
            } catch (const std::exception& e) {
                done(Error{Error::Kind::transport, 0, e.what()});
            }
        });
}

}  // namespace ari
