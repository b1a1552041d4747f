// The production Asterisk config (deploy/asterisk/etc + the files the image copies), rendered by
// the image's entrypoint and booted on the lab's real Asterisk 22: HEP reaches a listener, AMI
// and ARI accept the rendered credentials, the Genesys endpoint and the dialplan are in place.
// Only asterisk.conf is swapped for the lab's (private directories instead of /etc/asterisk).
#include "deploy_test_support.hpp"
#include "lab_env.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <thread>
#include <vector>

using namespace talkgate::test;
using namespace std::chrono_literals;

namespace {

// A socket closed on scope exit.
class Fd {
  public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

  private:
    int fd_;
};

sockaddr_in loopback(unsigned short port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

unsigned short bound_port(int fd) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(a.sin_port);
}

// A free port for `type` on 127.0.0.1, released at once.
unsigned short free_port(int type) {
    Fd fd(::socket(AF_INET, type, 0));
    auto a = loopback(0);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return 0;
    return bound_port(fd.get());
}

// Reads from fd until `until` appears or the deadline passes.
std::string read_until(int fd, const std::string& until, std::chrono::milliseconds deadline) {
    std::string got;
    auto end = std::chrono::steady_clock::now() + deadline;
    while (got.find(until) == std::string::npos) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            end - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
        char buf[2048];
        auto n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
}

class ProductionAsterisk : public ::testing::Test {
  protected:
    void SetUp() override {
        const LabEnv& lab = LabEnv::get();
        root_ = lab["LAB_ROOT"];
        dir_in_root_ = "/var/lib/talkgate-lab/deploy-" + lab["LAB_PORT_BASE"];
        dir_ = root_ + dir_in_root_;
        ASSERT_EQ(run_command("rm -rf " + sh_quote(dir_) + " && mkdir -p " + sh_quote(dir_) +
                                  "/etc/site " + sh_quote(dir_) + "/db " + sh_quote(dir_) +
                                  "/spool " + sh_quote(dir_) + "/run " + sh_quote(dir_) + "/log " +
                                  sh_quote(dir_) + "/keys",
                              10s)
                      .exit_code,
                  0);

        hep_fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
        auto a = loopback(0);
        ASSERT_EQ(::bind(hep_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        sip_port_ = free_port(SOCK_DGRAM);
        ami_port_ = free_port(SOCK_STREAM);
        http_port_ = free_port(SOCK_STREAM);
        ari_password_ = random_secret();
        ami_secret_ = random_secret();

        // The templates exactly as the image gets them (COPY lines of the Dockerfile).
        auto copy = run_command(
            "cd " + sh_quote(source_path(".")) + " && mkdir -p " + sh_quote(dir_ + "/templates") +
                " && grep '^COPY .* /usr/share/talkgate-asterisk/templates/$' "
                "deploy/asterisk/Dockerfile | sed 's|^COPY ||; s| [^ ]*$||' | xargs -I{} sh -c "
                "'cp {} " +
                dir_ + "/templates/'",
            10s);
        ASSERT_EQ(copy.exit_code, 0) << copy.output;
        std::string env =
            "env -i PATH=/usr/bin:/bin TALKGATE_ASTERISK_TEMPLATES=" +
            sh_quote(dir_ + "/templates") +
            " TALKGATE_ASTERISK_STOCK=" + sh_quote(root_ + "/etc/asterisk") +
            " ARI_USER=tg-ari ARI_PASSWORD=" + ari_password_ +
            " ARI_APP=tg-deploy ASTERISK_AMI_USER=tg-ami ASTERISK_AMI_SECRET=" + ami_secret_ +
            " ASTERISK_AMI_PORT=" + std::to_string(ami_port_) +
            " ASTERISK_HTTP_PORT=" + std::to_string(http_port_) +
            " ASTERISK_SIP_BIND=127.0.0.1 ASTERISK_SIP_PORT=" + std::to_string(sip_port_) +
            " ASTERISK_RTP_START=" + std::to_string((sip_port_ + 2) & ~1) +
            " ASTERISK_RTP_END=" + std::to_string(sip_port_ + 40) +
            " GENESYS_SIP_HOST=127.0.0.2 HEP_LISTEN=127.0.0.1:" +
            std::to_string(bound_port(hep_fd_));
        auto rendered =
            run_command(env + " sh " + sh_quote(source_path("deploy/asterisk/entrypoint.sh")) +
                            " render " + sh_quote(dir_ + "/etc"),
                        20s);
        ASSERT_EQ(rendered.exit_code, 0) << rendered.output;
        // The agents example from site.example/, as an operator would mount it.
        ASSERT_EQ(
            run_command(
                "cp " + sh_quote(source_path("deploy/asterisk/site.example/pjsip_agents.conf")) +
                    " " + sh_quote(dir_ + "/etc/site/"),
                5s)
                .exit_code,
            0);
        // Only the directory layout differs from production: the lab's asterisk.conf.
        std::string layout = read_file(source_path("tests/lab/asterisk/asterisk.conf"));
        for (auto p = layout.find("@LAB_DIR@"); p != std::string::npos;
             p = layout.find("@LAB_DIR@")) {
            layout.replace(p, 9, dir_in_root_);
        }
        write_file(dir_ + "/etc/asterisk.conf", layout);

        auto started = run_command(
            "setsid unshare --mount --pid --fork --kill-child --propagation private /bin/sh -c "
            "'mount -t proc proc \"$1/proc\" && mount --bind /dev \"$1/dev\" && exec chroot \"$1\" "
            "/usr/sbin/asterisk -f -U root -C \"$2/etc/asterisk.conf\"' deploy " +
                sh_quote(root_) + " " + sh_quote(dir_in_root_) + " >" +
                sh_quote(dir_ + "/asterisk.out") + " 2>&1 </dev/null & echo $!",
            10s);
        ASSERT_EQ(started.exit_code, 0) << started.output;
        pid_ = std::stoi(started.output);
        bool booted = false;
        for (int i = 0; i < 60 && !booted; ++i) {
            booted = rx("core waitfullybooted").find("fully booted") != std::string::npos;
            if (!booted) std::this_thread::sleep_for(500ms);
        }
        ASSERT_TRUE(booted) << read_file(dir_ + "/asterisk.out");
    }

    void TearDown() override {
        if (pid_ > 0) {
            rx("core stop now");
            for (int i = 0; i < 40 && ::kill(pid_, 0) == 0; ++i) {
                std::this_thread::sleep_for(250ms);
            }
            ::kill(-pid_, SIGKILL);
            ::kill(pid_, SIGKILL);
        }
        if (hep_fd_ >= 0) ::close(hep_fd_);
        run_command("rm -rf " + sh_quote(dir_), 10s);
    }

    std::string rx(const std::string& command) {
        return run_command("chroot " + sh_quote(root_) + " /usr/sbin/asterisk -C " +
                               sh_quote(dir_in_root_ + "/etc/asterisk.conf") + " -rx " +
                               sh_quote(command),
                           10s)
            .output;
    }

    std::string root_, dir_in_root_, dir_;
    int hep_fd_ = -1;
    int pid_ = -1;
    unsigned short sip_port_ = 0, ami_port_ = 0, http_port_ = 0;
    std::string ari_password_, ami_secret_;
};

}  // namespace

TEST_F(ProductionAsterisk, BootsWithHepAmiAriAndTheGenesysDialplan) {
    // HEP: a SIP request to Asterisk comes back as a HEP3 copy.
    Fd sip(::socket(AF_INET, SOCK_DGRAM, 0));
    std::string options = "OPTIONS sip:ping@127.0.0.1:" + std::to_string(sip_port_) +
                          " SIP/2.0\r\n"
                          "Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-deploy-1\r\n"
                          "From: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:ping@127.0.0.1>\r\n"
                          "Call-ID: deploy-hep-probe@127.0.0.1\r\nCSeq: 1 OPTIONS\r\n"
                          "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
    auto to = loopback(sip_port_);
    ASSERT_GT(::sendto(sip.get(), options.data(), options.size(), 0,
                       reinterpret_cast<sockaddr*>(&to), sizeof to),
              0);
    std::string hep = read_until(hep_fd_, "deploy-hep-probe", 5000ms);
    EXPECT_EQ(hep.rfind("HEP3", 0), 0u) << "no HEP copy of the OPTIONS";
    EXPECT_NE(hep.find("OPTIONS sip:ping@"), std::string::npos);

    // AMI with the rendered credentials (and not with others).
    auto ami_login = [&](const std::string& secret) {
        Fd fd(::socket(AF_INET, SOCK_STREAM, 0));
        auto a = loopback(ami_port_);
        if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
            return std::string();
        read_until(fd.get(), "\r\n", 3000ms);
        std::string login = "Action: Login\r\nUsername: tg-ami\r\nSecret: " + secret + "\r\n\r\n";
        ::send(fd.get(), login.data(), login.size(), 0);
        return read_until(fd.get(), "\r\n\r\n", 3000ms);
    };
    EXPECT_NE(ami_login(ami_secret_).find("Response: Success"), std::string::npos);
    EXPECT_NE(ami_login("wrong-" + ami_secret_).find("Response: Error"), std::string::npos);
    // The user may do what talkgate does (log in asking for system and user events,
    // PJSIPShowContacts, PJSIPNotify), and no more (Originate).
    {
        Fd fd(::socket(AF_INET, SOCK_STREAM, 0));
        auto a = loopback(ami_port_);
        ASSERT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        read_until(fd.get(), "\r\n", 3000ms);
        auto action = [&](const std::string& text, const std::string& id) {
            std::string frame = text + "ActionID: " + id + "\r\n\r\n";
            ::send(fd.get(), frame.data(), frame.size(), 0);
            return read_until(fd.get(), "ActionID: " + id, 3000ms);
        };
        EXPECT_NE(action("Action: Login\r\nUsername: tg-ami\r\nSecret: " + ami_secret_ +
                             "\r\nEvents: system,user\r\n",
                         "login")
                      .find("Response: Success"),
                  std::string::npos);
        EXPECT_EQ(action("Action: PJSIPShowContacts\r\n", "contacts").find("Permission denied"),
                  std::string::npos);
        auto notify =
            action("Action: PJSIPNotify\r\nEndpoint: 1002\r\nVariable: Event=talk\r\n", "n");
        EXPECT_NE(notify.find("Response:"), std::string::npos) << notify;
        EXPECT_EQ(notify.find("Permission denied"), std::string::npos) << notify;
        EXPECT_NE(action("Action: Originate\r\nChannel: Local/1@from-genesys\r\n"
                         "Application: Wait\r\n",
                         "orig")
                      .find("Permission denied"),
                  std::string::npos);
    }

    // ARI with the rendered credentials.
    auto ari = [&](const std::string& password) {
        return run_command("curl -s -o /dev/null -w '%{http_code}' -u tg-ari:" + password +
                               " http://127.0.0.1:" + std::to_string(http_port_) +
                               "/ari/asterisk/info",
                           10s)
            .output;
    };
    EXPECT_EQ(ari(ari_password_), "200");
    EXPECT_EQ(ari("wrong"), "401");

    // HEP, the Genesys endpoint, an agent from site/, the dialplan into talkgate's app.
    EXPECT_NE(rx("module show like res_hep_pjsip").find("Running"), std::string::npos);
    auto genesys = rx("pjsip show endpoint genesys");
    EXPECT_NE(genesys.find("from-genesys"), std::string::npos) << genesys;
    EXPECT_NE(genesys.find("127.0.0.2"), std::string::npos) << genesys;
    auto agent = rx("pjsip show endpoint 1002");
    EXPECT_NE(agent.find("moh_passthrough"), std::string::npos) << agent;
    EXPECT_NE(agent.find("from-agents"), std::string::npos) << agent;
    EXPECT_NE(rx("dialplan show from-genesys").find("Stasis(${TALKGATE_APP}"), std::string::npos);
    EXPECT_NE(rx("dialplan show globals").find("TALKGATE_APP=tg-deploy"), std::string::npos);
    EXPECT_NE(rx("module show like res_pjsip_notify").find("Running"), std::string::npos);

    // No configuration errors at boot.
    std::string log = read_file(dir_ + "/log/messages");
    EXPECT_EQ(log.find("ERROR"), std::string::npos) << log;
}
