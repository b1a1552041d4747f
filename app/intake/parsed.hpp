#pragma once

#include <string>
#include <utility>

namespace talkgate::intake {

// A parse result: a value, or a one-line reason why the input was refused. Parsers of
// untrusted input return this instead of throwing.
template <class T>
class Parsed {
  public:
    static Parsed ok(T value) { return Parsed(std::move(value), {}, true); }
    static Parsed fail(std::string error) {
        return Parsed(T{}, error.empty() ? std::string("invalid input") : std::move(error), false);
    }

    bool has_value() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const T& value() const { return value_; }
    T& value() { return value_; }
    const T& operator*() const { return value_; }
    T& operator*() { return value_; }
    const T* operator->() const { return &value_; }
    T* operator->() { return &value_; }
    // Empty when has_value().
    const std::string& error() const { return error_; }

  private:
    Parsed(T value, std::string error, bool ok)
        : value_(std::move(value)), error_(std::move(error)), ok_(ok) {}

    T value_;
    std::string error_;
    bool ok_;
};

}  // namespace talkgate::intake
