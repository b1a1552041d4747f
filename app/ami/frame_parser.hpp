#pragma once

#include "ami/message.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace talkgate::ami {

// What one FrameParser::feed call produced.
struct ParseOutput {
    std::optional<std::string> banner;  // the server's first line, once per connection
    std::vector<Message> messages;      // complete frames, in order
    std::size_t malformed_frames = 0;   // frames dropped because a line had no "Key: value" form
    std::string error;                  // set when the stream is unusable (frame over the bound)
};

// Incremental AMI framing: the banner line (no blank line after it), then frames of
// "Key: value" lines (CRLF or bare LF) ending with an empty line. Input may arrive split at any
// byte; memory is bounded by max_frame_bytes. Pure and allocation-light, so it can be fuzzed.
class FrameParser {
  public:
    explicit FrameParser(std::size_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

    // Consumes `bytes`, appending what they complete to `out`. Returns false (and sets
    // out.error) when a frame exceeds the bound; the parser then stays failed until reset().
    bool feed(std::string_view bytes, ParseOutput& out);
    // Forgets all state, for a new connection.
    void reset();

    bool failed() const { return failed_; }
    // Bytes held for the frame being assembled (for tests and the fuzzer's invariants).
    std::size_t pending_bytes() const { return frame_bytes_ + line_.size(); }
    std::size_t max_frame_bytes() const { return max_frame_bytes_; }

  private:
    void take_line(std::string_view line, ParseOutput& out);

    std::size_t max_frame_bytes_;  // the bound on one frame, banner included
    bool banner_done_ = false;     // the first line is the banner, not a field
    bool failed_ = false;          // a bound was exceeded: the stream cannot be resynchronised
    bool malformed_ = false;       // the current frame had a bad line: drop it at its end
    std::string line_;             // an incomplete line carried over to the next feed
    std::size_t frame_bytes_ = 0;  // bytes of the complete lines of the current frame
    std::vector<Message::Field> fields_;  // the current frame's fields so far
};

}  // namespace talkgate::ami
