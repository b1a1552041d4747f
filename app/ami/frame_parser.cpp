#include "ami/frame_parser.hpp"

#include <cstring>

namespace talkgate::ami {

bool FrameParser::feed(std::string_view bytes, ParseOutput& out) {
    if (failed_) {
        if (out.error.empty()) out.error = "parser already failed";
        return false;
    }
    while (!bytes.empty()) {
        const void* nl = std::memchr(bytes.data(), '\n', bytes.size());
        const std::size_t take =
            nl == nullptr
                ? bytes.size()
                : static_cast<std::size_t>(static_cast<const char*>(nl) - bytes.data()) + 1;
        if (frame_bytes_ + line_.size() + take > max_frame_bytes_) {
            failed_ = true;
            out.error = "AMI frame exceeds " + std::to_string(max_frame_bytes_) + " bytes";
            line_.clear();
            fields_.clear();
            return false;
        }
        if (nl == nullptr) {
            line_.append(bytes.data(), bytes.size());
            return true;
        }
        std::string_view line;
        if (line_.empty()) {
            line = bytes.substr(0, take - 1);
        } else {
            line_.append(bytes.data(), take - 1);
            line = line_;
        }
        frame_bytes_ += line.size() + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        take_line(line, out);
        line_.clear();
        bytes.remove_prefix(take);
    }
    return true;
}

void FrameParser::take_line(std::string_view line, ParseOutput& out) {
    if (!banner_done_) {
        banner_done_ = true;
        out.banner = std::string(line);
        frame_bytes_ = 0;
        return;
    }
    if (line.empty()) {
        if (malformed_) {
            ++out.malformed_frames;
        } else if (!fields_.empty()) {
            out.messages.emplace_back(std::move(fields_));
        }
        fields_.clear();
        malformed_ = false;
        frame_bytes_ = 0;
        return;
    }
    if (malformed_) return;
    const auto colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) {
        malformed_ = true;
        fields_.clear();
        return;
    }
    std::string_view value = line.substr(colon + 1);
    // Asterisk writes "Key: value"; tolerate any run of blanks after the colon.
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
    fields_.emplace_back(std::string(line.substr(0, colon)), std::string(value));
}

void FrameParser::reset() {
    banner_done_ = false;
    failed_ = false;
    malformed_ = false;
    line_.clear();
    frame_bytes_ = 0;
    fields_.clear();
}

}  // namespace talkgate::ami
