#pragma once

#include <string>
#include <utility>
#include <variant>

namespace ari {

// Why an ARI operation failed.
struct Error {
    enum class Kind { http, timeout, transport, decode, canceled };
    Kind kind = Kind::transport;
    int http_status = 0;  // for Kind::http
    std::string message;  // Asterisk's message, or what went wrong

    std::string describe() const {
        switch (kind) {
            case Kind::http:
                return "HTTP " + std::to_string(http_status) + ": " + message;
            case Kind::timeout:
                return "timeout: " + message;
            case Kind::decode:
                return "bad reply: " + message;
            case Kind::canceled:
                return "canceled: " + message;
            case Kind::transport:
                break;
        }
        return "transport: " + message;
    }
};

// The value of an operation whose success carries no data (HTTP 204).
struct NoContent {};

// A value or an error; never an exception across an async boundary. The one result type of
// talkgate's peers: ARI with ari::Error, AMI with its own error kinds (ami::Result).
template <class T, class E = Error>
class Result {
  public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    Result(E error) : v_(std::in_place_index<1>, std::move(error)) {}
    explicit operator bool() const { return v_.index() == 0; }
    bool ok() const { return v_.index() == 0; }
    const T& value() const { return std::get<0>(v_); }
    T& value() { return std::get<0>(v_); }
    const E& error() const { return std::get<1>(v_); }

  private:
    std::variant<T, E> v_;
};

}  // namespace ari
