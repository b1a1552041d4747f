#include "hep_intake.hpp"

#include "sip_message.hpp"

#include <algorithm>

namespace talkgate::intake {

namespace {

// Compares without an early exit, so the time taken does not reveal the password's prefix.
bool same_secret(std::string_view given, std::string_view expected) {
    unsigned char diff = given.size() == expected.size() ? 0 : 1;
    for (std::size_t i = 0; i < given.size(); ++i) {
        diff |= static_cast<unsigned char>(given[i] ^ expected[i % expected.size()]);
    }
    return diff == 0;
}

bool contains(const std::vector<IpAddress>& list, const IpAddress& a) {
    return std::find(list.begin(), list.end(), a) != list.end();
}

}  // namespace

const char* to_string(HepReject reason) {
    switch (reason) {
        case HepReject::unknown_agent:
            return "unknown_agent";
        case HepReject::malformed_hep:
            return "malformed_hep";
        case HepReject::bad_password:
            return "bad_password";
        case HepReject::malformed_sip:
            return "malformed_sip";
        case HepReject::not_genesys:
            return "not_genesys";
        default:
            return "bad_notify";
    }
}

std::uint64_t HepCounters::rejected_total() const {
    std::uint64_t n = 0;
    for (auto r : rejected) n += r;
    return n;
}

bool parse_ip_list(const std::vector<std::string>& items, std::vector<IpAddress>& out,
                   std::string& error) {
    std::vector<IpAddress> list;
    for (const auto& item : items) {
        std::string_view s = item;
        while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
        while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
        const IpAddress a = IpAddress::from_string(s);
        if (a.family == IpAddress::Family::none) {
            error = "'" + item + "' is not an IP address";
            return false;
        }
        list.push_back(a);
    }
    out = std::move(list);
    return true;
}

HepIntake::HepIntake(HepIntakeSettings settings)
    : settings_(std::move(settings)), dedupe_(settings_.dedupe) {}

HepIntake::Outcome HepIntake::reject(HepReject reason, std::string detail) {
    ++counters_.rejected[static_cast<std::size_t>(reason)];
    Outcome o;
    o.kind = Outcome::Kind::rejected;
    o.reject = reason;
    o.detail = std::move(detail);
    return o;
}

HepIntake::Outcome HepIntake::process(std::string_view datagram, const IpAddress& agent,
                                      std::chrono::steady_clock::time_point now) {
    ++counters_.datagrams;
    if (!contains(settings_.allowed_agents, agent)) {
        return reject(HepReject::unknown_agent,
                      "sender " + agent.to_string() + " is not an allowed capture agent");
    }
    auto hep = parse_hep(datagram);
    if (!hep) return reject(HepReject::malformed_hep, hep.error());
    if (!settings_.capture_password.empty() &&
        !same_secret(hep->auth_key, settings_.capture_password)) {
        return reject(HepReject::bad_password,
                      hep->auth_key.empty() ? "no capture password" : "wrong capture password");
    }
    if (hep->proto_type != HepPacket::kProtoSip) {
        ++counters_.non_sip_ignored;
        return {};
    }
    if (hep->payload_compressed)
        return reject(HepReject::malformed_hep, "compressed payload (chunk 0x10)");
    auto sip = parse_sip(hep->payload);
    if (!sip) return reject(HepReject::malformed_sip, sip.error());
    ++counters_.parsed;
    if (!sip->is_request || sip->method != "NOTIFY") {
        ++counters_.non_notify_ignored;
        return {};
    }
    // Asterisk's own outbound NOTIFYs (the PJSIPNotify talkgate asks for) are copied too; when
    // they leave from the capture agent's address they are ours, not a stranger's: no warning.
    if (hep->src_ip == agent && !contains(settings_.genesys_hosts, hep->src_ip)) {
        ++counters_.non_notify_ignored;
        return {};
    }
    if (!contains(settings_.genesys_hosts, hep->src_ip)) {
        return reject(HepReject::not_genesys, "NOTIFY from " + hep->source_address() +
                                                  " (not a Genesys SIP host), Call-ID " +
                                                  std::string(sip->call_id.substr(0, 64)));
    }
    if (sip->event.empty()) return reject(HepReject::bad_notify, "NOTIFY without Event");
    if (sip->to.user.empty()) return reject(HepReject::bad_notify, "NOTIFY without a DN in To");
    if (sip->call_id.size() > kMaxCallIdLength)
        return reject(HepReject::bad_notify, "Call-ID too long");
    if (settings_.deduplicate && !dedupe_.first_seen(sip->call_id, sip->cseq, sip->method, now)) {
        ++counters_.duplicates;
        Outcome o;
        o.kind = Outcome::Kind::duplicate;
        return o;
    }
    auto event = notify_from_sip(*sip, NotifySource::hep, hep->source_address(), now);
    if (!event) return reject(HepReject::bad_notify, event.error());  // unreachable: checked above
    ++counters_.notifies;
    Outcome o;
    o.kind = Outcome::Kind::notify;
    o.event = std::move(*event);
    return o;
}

}  // namespace talkgate::intake
