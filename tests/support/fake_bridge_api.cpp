#include "fake_bridge_api.hpp"

#include <cpprest/http_listener.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <thread>

namespace talkgate::test {

int free_loopback_port() {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor a(
        io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    return a.local_endpoint().port();
}

struct FakeBridgeApi::Impl {
    mutable std::mutex mu;
    std::condition_variable cv;
    std::vector<Request> requests;
    int fail_count = 0;
    int fail_status = 500;
    std::chrono::milliseconds delay{0};
    std::unique_ptr<web::http::experimental::listener::http_listener> listener;
};

FakeBridgeApi::FakeBridgeApi(const std::string& host)
    : impl_(std::make_unique<Impl>()), host_(host) {
    port_ = free_loopback_port();
    impl_->listener = std::make_unique<web::http::experimental::listener::http_listener>(
        "http://" + host_ + ":" + std::to_string(port_));
    Impl* impl = impl_.get();
    impl_->listener->support([impl](web::http::http_request req) {
        Request r;
        r.method = req.method();
        r.path = req.relative_uri().path();
        r.at = std::chrono::steady_clock::now();
        std::string body;
        try {
            body = req.extract_string().get();
        } catch (const std::exception&) {
        }
        r.body = nlohmann::json::parse(body, nullptr, false);
        if (r.body.is_discarded()) r.body = nullptr;
        int status = 200;
        std::chrono::milliseconds delay{0};
        {
            std::lock_guard lock(impl->mu);
            impl->requests.push_back(r);
            if (impl->fail_count > 0) {
                --impl->fail_count;
                status = impl->fail_status;
            }
            delay = impl->delay;
        }
        impl->cv.notify_all();
        if (delay.count() > 0) std::this_thread::sleep_for(delay);
        web::json::value reply;
        reply["success"] = web::json::value::boolean(status == 200);
        reply["message"] = web::json::value::string(status == 200 ? "Answer command sent" : "fail");
        req.reply(status, reply).wait();
    });
    impl_->listener->open().wait();
}

FakeBridgeApi::~FakeBridgeApi() {
    try {
        impl_->listener->close().wait();
    } catch (const std::exception&) {
    }
}

std::string FakeBridgeApi::url() const {
    return "http://127.0.0.1:" + std::to_string(port_);
}

void FakeBridgeApi::fail_next(int count, int status) {
    std::lock_guard lock(impl_->mu);
    impl_->fail_count = count;
    impl_->fail_status = status;
}

void FakeBridgeApi::delay_replies(std::chrono::milliseconds delay) {
    std::lock_guard lock(impl_->mu);
    impl_->delay = delay;
}

std::vector<FakeBridgeApi::Request> FakeBridgeApi::requests() const {
    std::lock_guard lock(impl_->mu);
    return impl_->requests;
}

bool FakeBridgeApi::wait_for(const std::string& prefix, std::size_t count,
                             std::chrono::milliseconds deadline) {
    std::unique_lock lock(impl_->mu);
    return impl_->cv.wait_for(lock, deadline, [&] {
        std::size_t n = 0;
        for (const auto& r : impl_->requests) n += r.path.rfind(prefix, 0) == 0 ? 1 : 0;
        return n >= count;
    });
}

}  // namespace talkgate::test
