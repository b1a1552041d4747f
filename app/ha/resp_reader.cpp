#include "ha/resp_reader.hpp"

#include <hiredis/hiredis.h>

#include <cstdlib>
#include <new>

namespace talkgate::ha {

namespace {

// hiredis builds the reply tree through these; the nodes are ours (RedisReply), so no
// redisReply is ever copied, and an array header past the limit fails instead of allocating.
struct Builder {
    std::size_t max_array_elements;
};

RedisReply* attach(const redisReadTask* task, RedisReply node) {
    try {
        if (task->parent) {
            auto* parent = static_cast<RedisReply*>(task->parent->obj);
            if (!parent || task->idx < 0 ||
                static_cast<std::size_t>(task->idx) >= parent->elements.size())
                return nullptr;
            auto& slot = parent->elements[static_cast<std::size_t>(task->idx)];
            slot = std::move(node);
            return &slot;
        }
        return new (std::nothrow) RedisReply(std::move(node));
    } catch (...) {
        return nullptr;  // hiredis reports it as out of memory
    }
}

RedisReply::Type type_of(int hiredis_type) {
    switch (hiredis_type) {
        case REDIS_REPLY_ERROR:
            return RedisReply::Type::error;
        case REDIS_REPLY_STATUS:
            return RedisReply::Type::status;
        default:
            return RedisReply::Type::string;
    }
}

void* create_string(const redisReadTask* task, char* str, size_t len) {
    RedisReply r;
    r.type = type_of(task->type);
    try {
        r.text.assign(str, len);
    } catch (...) {
        return nullptr;
    }
    return attach(task, std::move(r));
}

void* create_array(const redisReadTask* task, int elements) {
    // hiredis hands every task the reader's privdata.
    const auto* builder = static_cast<const Builder*>(task->privdata);
    if (elements < 0 || !builder ||
        static_cast<std::size_t>(elements) > builder->max_array_elements)
        return nullptr;
    RedisReply r;
    r.type = RedisReply::Type::array;
    try {
        r.elements.resize(static_cast<std::size_t>(elements));
    } catch (...) {
        return nullptr;
    }
    return attach(task, std::move(r));
}

void* create_integer(const redisReadTask* task, long long value) {
    RedisReply r;
    r.type = RedisReply::Type::integer;
    r.integer = value;
    return attach(task, std::move(r));
}

void* create_nil(const redisReadTask* task) {
    return attach(task, RedisReply{});
}

// Only a root is freed on its own: children live inside their parent's vector.
void free_object(void* obj) {
    delete static_cast<RedisReply*>(obj);
}

redisReplyObjectFunctions functions = {create_string, create_array, create_integer, create_nil,
                                       free_object};

}  // namespace

RespReader::RespReader() : RespReader(Limits{}) {}

RespReader::RespReader(Limits limits) : limits_(limits) {
    reader_ = redisReaderCreateWithFunctions(&functions);
    if (!reader_) {
        error_ = "cannot create the RESP reader";
        return;
    }
    reader_->privdata = new (std::nothrow) Builder{limits_.max_array_elements};
    if (!reader_->privdata) error_ = "cannot create the RESP reader";
}

RespReader::~RespReader() {
    if (!reader_) return;
    delete static_cast<Builder*>(reader_->privdata);
    reader_->privdata = nullptr;
    redisReaderFree(reader_);
}

bool RespReader::feed(const char* data, std::size_t size) {
    if (!error_.empty()) return false;
    if (redisReaderFeed(reader_, data, size) != REDIS_OK) {
        error_ = reader_->errstr[0] ? reader_->errstr : "RESP reader refused input";
        return false;
    }
    if (reader_->len - reader_->pos > limits_.max_pending_bytes) {
        error_ = "reply larger than " + std::to_string(limits_.max_pending_bytes) + " bytes";
        return false;
    }
    return true;
}

std::optional<RedisReply> RespReader::next() {
    if (!error_.empty()) return std::nullopt;
    void* out = nullptr;
    if (redisReaderGetReply(reader_, &out) != REDIS_OK) {
        error_ = reader_->errstr[0] ? reader_->errstr : "malformed RESP";
        return std::nullopt;
    }
    if (!out) return std::nullopt;
    std::unique_ptr<RedisReply> root(static_cast<RedisReply*>(out));
    return std::move(*root);
}

std::string format_command(const std::vector<std::string>& argv) {
    std::vector<const char*> args;
    std::vector<size_t> lens;
    args.reserve(argv.size());
    lens.reserve(argv.size());
    for (const auto& a : argv) {
        args.push_back(a.data());
        lens.push_back(a.size());
    }
    char* cmd = nullptr;
    const int len =
        redisFormatCommandArgv(&cmd, static_cast<int>(args.size()), args.data(), lens.data());
    if (len < 0 || !cmd) return {};
    std::string out(cmd, static_cast<std::size_t>(len));
    redisFreeCommand(cmd);
    return out;
}

}  // namespace talkgate::ha
