#include "status_test_support.hpp"

#include <stdexcept>

#include <cpprest/http_client.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace talkgate::test {

unsigned short free_loopback_port() {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor a(
        io, {boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(0)});
    return a.local_endpoint().port();
}

HttpReply http_request(const std::string& base_url, const std::string& method,
                       const std::string& path, const std::string& token, const std::string& body,
                       const std::string& authorization) {
    web::http::client::http_client_config config;
    config.set_timeout(std::chrono::seconds(10));
    web::http::client::http_client client(base_url, config);
    web::http::http_request req(method);
    req.set_request_uri(path);
    if (!authorization.empty()) {
        req.headers().add("Authorization", authorization);
    } else if (!token.empty()) {
        req.headers().add("Authorization", "Bearer " + token);
    }
    if (!body.empty()) req.set_body(body, "application/json");
    auto resp = client.request(req).get();
    HttpReply out;
    out.status = resp.status_code();
    out.content_type = resp.headers().content_type();
    out.body = resp.extract_string(true).get();
    for (const auto& [k, v] : resp.headers()) out.headers[k] = v;
    return out;
}

FakeSource::~FakeSource() {
    for (auto& t : threads_) t.join();
}

void FakeSource::deliver(std::function<void()> f) {
    switch (mode_.load()) {
        case Mode::inline_reply:
        case Mode::throwing:
            f();
            return;
        case Mode::other_thread: {
            std::lock_guard<std::mutex> lock(mutex_);
            threads_.emplace_back([f = std::move(f)] {
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
                f();
            });
            return;
        }
        case Mode::never: {
            std::lock_guard<std::mutex> lock(mutex_);
            withheld_.push_back(std::move(f));
            return;
        }
    }
}

void FakeSource::calls(std::function<void(std::vector<status::CallView>)> done) {
    ++calls_requests_;
    if (mode_ == Mode::throwing) throw std::runtime_error("fake source: calls() throws");
    std::vector<status::CallView> snapshot;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        snapshot = calls_;
    }
    deliver([done = std::move(done), snapshot = std::move(snapshot)] { done(snapshot); });
}

status::Readiness FakeSource::readiness() const {
    if (mode_ == Mode::throwing) throw std::runtime_error("fake source: readiness() throws");
    std::lock_guard<std::mutex> lock(mutex_);
    return readiness_;
}

void FakeSource::request_answer(
    const std::string& dn, std::function<void(status::AnswerOutcome, std::string detail)> done) {
    if (mode_ == Mode::throwing) throw std::runtime_error("fake source: request_answer() throws");
    status::AnswerOutcome outcome = status::AnswerOutcome::no_such_call;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        answer_requests_.push_back(dn);
        auto it = answers_.find(dn);
        if (it != answers_.end()) outcome = it->second;
    }
    deliver([done = std::move(done), outcome, dn] { done(outcome, "fake source, DN " + dn); });
}

void FakeSource::trace(const std::string& id,
                       std::function<void(std::optional<status::TraceView>)> done) {
    if (mode_ == Mode::throwing) throw std::runtime_error("fake source: trace() throws");
    std::optional<status::TraceView> found;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = traces_.find(id);
        if (it != traces_.end()) found = it->second;
    }
    deliver([done = std::move(done), found = std::move(found)] { done(found); });
}

void FakeSource::recent_calls(std::function<void(std::vector<status::RecentCallView>)> done) {
    if (mode_ == Mode::throwing) throw std::runtime_error("fake source: recent_calls() throws");
    std::vector<status::RecentCallView> snapshot;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        snapshot = recent_;
    }
    deliver([done = std::move(done), snapshot = std::move(snapshot)] { done(snapshot); });
}

void FakeSource::live(std::function<void(status::LiveView)> done) {
    if (mode_ == Mode::throwing) throw std::runtime_error("fake source: live() throws");
    status::LiveView snapshot;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        snapshot = live_;
    }
    deliver([done = std::move(done), snapshot = std::move(snapshot)] { done(snapshot); });
}

void FakeSource::watch(std::weak_ptr<status::LiveWatcher> watcher) {
    std::lock_guard<std::mutex> lock(mutex_);
    watcher_ = std::move(watcher);
}

void FakeSource::set_live(status::LiveView view) {
    std::lock_guard<std::mutex> lock(mutex_);
    live_ = std::move(view);
}

std::shared_ptr<status::LiveWatcher> FakeSource::watcher() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return watcher_.lock();
}

void FakeSource::set_trace(status::TraceView trace) {
    std::lock_guard<std::mutex> lock(mutex_);
    traces_[trace.call.id] = std::move(trace);
}

void FakeSource::set_recent(std::vector<status::RecentCallView> recent) {
    std::lock_guard<std::mutex> lock(mutex_);
    recent_ = std::move(recent);
}

void FakeSource::set_calls(std::vector<status::CallView> calls) {
    std::lock_guard<std::mutex> lock(mutex_);
    calls_ = std::move(calls);
}

void FakeSource::set_readiness(status::Readiness r) {
    std::lock_guard<std::mutex> lock(mutex_);
    readiness_ = r;
}

void FakeSource::set_answer(const std::string& dn, status::AnswerOutcome outcome) {
    std::lock_guard<std::mutex> lock(mutex_);
    answers_[dn] = outcome;
}

std::vector<std::string> FakeSource::answer_requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return answer_requests_;
}

void FakeSource::release_withheld() {
    std::vector<std::function<void()>> late;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        late.swap(withheld_);
    }
    for (auto& f : late) f();
}

status::CallView make_call(const std::string& id, const std::string& dn, const std::string& uuid,
                           const std::string& state) {
    status::CallView c;
    c.id = id;
    c.dn = dn;
    c.state = state;
    c.call_id = "cid-" + id + "@127.0.0.2";
    c.call_uuid = uuid;
    c.genesys_channel = "PJSIP/genesys-" + id;
    c.agent_channel = "PJSIP/" + dn + "-" + id;
    c.policy = "notify";
    c.created_ms = 1700000000000;
    c.ringing_ms = 1700000000100;
    return c;
}

}  // namespace talkgate::test
