#include "ha/call_directory.hpp"

#include "status/status_json.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

namespace talkgate::ha {

namespace {

const char* const kGatewaysKey = "talkgate:gateways";

std::int64_t epoch_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::optional<std::int64_t> optional_ms(const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer()) return std::nullopt;
    return it->get<std::int64_t>();
}

std::string text_of(const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::string published_calls(const std::string& gateway, std::int64_t fence,
                            std::int64_t published_ms, const std::vector<status::CallView>& calls) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& c : calls) list.push_back(status::to_json(c));
    return nlohmann::json{{"gateway", gateway},
                          {"fence", fence},
                          {"published_ms", published_ms},
                          {"calls", std::move(list)}}
        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::vector<status::CallView> calls_from_published(const std::string& text) {
    std::vector<status::CallView> out;
    const auto doc = nlohmann::json::parse(text, nullptr, false);
    if (!doc.is_object()) return out;
    const std::string gateway = text_of(doc, "gateway");
    auto calls = doc.find("calls");
    if (calls == doc.end() || !calls->is_array()) return out;
    for (const auto& c : *calls) {
        if (!c.is_object()) continue;
        status::CallView v;
        v.id = text_of(c, "id");
        v.dn = text_of(c, "dn");
        if (v.id.empty() || v.dn.empty()) continue;
        v.state = text_of(c, "state");
        v.call_id = text_of(c, "call_id");
        v.call_uuid = text_of(c, "call_uuid");
        v.genesys_channel = text_of(c, "genesys_channel");
        v.agent_channel = text_of(c, "agent_channel");
        v.bridge = text_of(c, "bridge");
        v.policy = text_of(c, "policy");
        auto held = c.find("held");
        v.held = held != c.end() && held->is_boolean() && held->get<bool>();
        v.created_ms = optional_ms(c, "created_ms").value_or(0);
        v.ringing_ms = optional_ms(c, "ringing_ms");
        v.notify_talk_ms = optional_ms(c, "notify_talk_ms");
        v.answered_ms = optional_ms(c, "answered_ms");
        v.gateway = gateway;
        out.push_back(std::move(v));
    }
    return out;
}

CallDirectory::CallDirectory(boost::asio::io_context& io, std::shared_ptr<RedisClient> redis,
                             Options options, LocalCalls local)
    : io_(io), redis_(std::move(redis)), options_(std::move(options)), local_(std::move(local)) {}

std::string CallDirectory::key_of(const std::string& gateway) const {
    return "talkgate:calls:{" + gateway + "}";
}

void CallDirectory::start_publishing(std::int64_t fence) {
    fence_ = fence;
    if (publishing_ || stopped_) return;
    publishing_ = true;
    publish();
}

void CallDirectory::stop() {
    stopped_ = true;
    timer_.cancel();
}

void CallDirectory::publish() {
    if (stopped_) return;
    std::weak_ptr<CallDirectory> weak = shared_from_this();
    if (redis_->up()) {
        local_([weak](std::vector<status::CallView> calls) {
            auto s = weak.lock();
            if (!s || s->stopped_) return;
            const auto gateway = s->options_.gateway;
            s->redis_->command(
                {"SET", s->key_of(gateway), published_calls(gateway, s->fence_, epoch_ms(), calls),
                 "PX", std::to_string(s->options_.expiry.count())},
                nullptr);
            s->redis_->command({"SADD", kGatewaysKey, gateway}, nullptr);
        });
    }
    timer_.expires_after(options_.period);
    timer_.async_wait([weak](const boost::system::error_code& ec) {
        if (auto s = weak.lock(); s && !ec) s->publish();
    });
}

void CallDirectory::all_calls(std::function<void(std::vector<status::CallView>)> done) {
    std::weak_ptr<CallDirectory> weak = shared_from_this();
    local_([weak, done = std::move(done)](std::vector<status::CallView> mine) mutable {
        auto s = weak.lock();
        if (!s) return done(std::move(mine));
        for (auto& c : mine) c.gateway = s->options_.gateway;  // a standby has none
        auto shared_done =
            std::make_shared<std::function<void(std::vector<status::CallView>)>>(std::move(done));
        s->redis_->command({"SMEMBERS", kGatewaysKey}, [weak, mine = std::move(mine), shared_done](
                                                           std::optional<RedisReply> r,
                                                           const std::string&) mutable {
            auto s2 = weak.lock();
            if (!s2 || !r || r->type != RedisReply::Type::array) return (*shared_done)(mine);
            std::vector<std::string> others;
            for (const auto& e : r->elements)
                // This gateway's own calls come live from the controller while active; a
                // standby reads its active's publication like any other gateway's.
                if (e.type == RedisReply::Type::string &&
                    !(s2->publishing_ && e.text == s2->options_.gateway))
                    others.push_back(e.text);
            if (others.empty()) return (*shared_done)(mine);
            // One GET per gateway, pipelined: on Redis Cluster the keys live in other slots.
            struct Gather {
                std::vector<status::CallView> calls;
                std::size_t left;
            };
            auto gather = std::make_shared<Gather>(Gather{std::move(mine), others.size()});
            for (const auto& g : others)
                s2->redis_->command(
                    {"GET", s2->key_of(g)},
                    [gather, shared_done](std::optional<RedisReply> v, const std::string&) {
                        if (v && v->type == RedisReply::Type::string)
                            for (auto& c : calls_from_published(v->text))
                                gather->calls.push_back(std::move(c));
                        if (--gather->left == 0) (*shared_done)(std::move(gather->calls));
                    });
        });
    });
}

}  // namespace talkgate::ha
