#pragma once

#include "ari/client_config.hpp"
#include "ari/result.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>

namespace ari {

// Asynchronous ARI REST calls, each with a deadline. Completions run on cpprestsdk's thread
// pool: post them to your own executor.
class RestClient {
public:
    explicit RestClient(ClientConfig config);
    ~RestClient();

    using JsonHandler = std::function<void(Result<nlohmann::json>)>;

    void asterisk_info(JsonHandler done);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ari
