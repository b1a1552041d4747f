#include "basic_auth.hpp"

#include <boost/beast/core/detail/base64.hpp>

namespace ari::detail {

std::string basic_auth(const std::string& user, const std::string& password) {
    const std::string plain = user + ":" + password;
    std::string out(boost::beast::detail::base64::encoded_size(plain.size()), '\0');
    out.resize(boost::beast::detail::base64::encode(out.data(), plain.data(), plain.size()));
    return "Basic " + out;
}

std::string url_encode(const std::string& s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size() * 3);
    for (unsigned char c : s) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}

}  // namespace ari::detail
