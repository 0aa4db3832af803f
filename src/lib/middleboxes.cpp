#include "tcpka/middleboxes.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <string>

namespace tcpka {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// Idle timeouts for established TCP flows, as each vendor documents them (defaults
// unless the note says otherwise). Sorted by name; docs/middleboxes.md mirrors it.
constexpr Middlebox kMiddleboxes[] = {
    // A proxy: the timer counts data, so keepalive probes (no payload) never reset it.
    {"aws-alb", "AWS Application Load Balancer (connection idle timeout)", seconds{60},
     "default; configurable; a proxy: only data resets it, not keepalive",
     "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/"
     "edit-load-balancer-attributes.html#connection-idle-timeout"},
    {"aws-clb", "AWS Classic Load Balancer (idle connection timeout)", seconds{60},
     "default; configurable 1 s to 3600 s; a proxy: only data resets it, not keepalive",
     "https://docs.aws.amazon.com/elasticloadbalancing/latest/classic/config-idle-timeout.html"},
    // Applies only to flows the security group tracks (not those allowed everywhere in
    // both directions).
    {"aws-ec2-conntrack", "AWS EC2 security group connection tracking (tracked flows)",
     seconds{432'000}, "default on most instance types; configurable 60 s to 5 days per ENI",
     "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/"
     "API_ConnectionTrackingSpecificationRequest.html"},
    {"aws-ec2-conntrack-nitro-v6",
     "AWS EC2 security group connection tracking on Nitro v6 instance types", seconds{350},
     "default on Nitro v6 (not P6e-GB200); configurable 60 s to 5 days per ENI",
     "https://docs.amazonaws.cn/en_us/AWSEC2/latest/APIReference/"
     "API_ConnectionTrackingSpecificationResponse.html"},
    {"aws-gwlb", "AWS Gateway Load Balancer", seconds{350}, "default; configurable 60 s to 6000 s",
     "https://docs.aws.amazon.com/elasticloadbalancing/latest/gateway/gateway-listeners.html"},
    {"aws-nat-gateway", "AWS NAT gateway", seconds{350}, "not configurable",
     "https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateway-troubleshooting.html"
     "#nat-gateway-troubleshooting-timeout"},
    {"aws-network-firewall", "AWS Network Firewall (stateful engine)", seconds{350},
     "default; configurable 60 s to 6000 s",
     "https://docs.aws.amazon.com/network-firewall/latest/APIReference/API_FlowTimeouts.html"},
    {"aws-nlb", "AWS Network Load Balancer (TCP listeners)", seconds{350},
     "default; configurable 60 s to 6000 s (TLS listeners: fixed 350 s)",
     "https://docs.aws.amazon.com/elasticloadbalancing/latest/network/update-idle-timeout.html"},
    // Internet-bound traffic; Microsoft's page has described east-west (VNet to VNet or
    // on-premises) differently over time, so it has no entry.
    {"azure-firewall", "Azure Firewall (north-south traffic)", minutes{4},
     "default; up to 15 min by support request only",
     "https://learn.microsoft.com/en-us/azure/firewall/tcp-session-behavior"},
    {"azure-lb", "Azure Load Balancer (load-balancing, inbound NAT and outbound rules)", minutes{4},
     "default; configurable 4 to 100 min; silent drop unless TCP reset is enabled",
     "https://learn.microsoft.com/en-us/azure/load-balancer/load-balancer-tcp-idle-timeout"},
    {"azure-nat-gateway", "Azure NAT Gateway", minutes{4}, "default; configurable 4 to 120 min",
     "https://learn.microsoft.com/en-us/azure/nat-gateway/nat-gateway-resource"},
    // Published ports and container egress are NAT in the host's netfilter, so the
    // kernel's conntrack timeout applies (linux-conntrack).
    {"docker", "Docker port publishing and container egress (host conntrack)", seconds{432'000},
     "the kernel's default; sysctl nf_conntrack_tcp_timeout_established",
     "https://docs.docker.com/engine/network/port-publishing/"},
    {"gcp-cloud-nat", "Google Cloud NAT (established TCP connections)", seconds{1'200},
     "default; configurable (--tcp-established-idle-timeout)",
     "https://cloud.google.com/nat/docs/tune-nat-configuration#nat-timeouts"},
    // A flow stays tracked while at least one packet passes every 10 minutes.
    {"gcp-firewall", "Google Cloud VPC firewall rules (connection tracking)", minutes{10},
     "not configurable", "https://cloud.google.com/vpc/docs/firewalls"},
    {"gcp-internal-nlb", "Google Cloud internal passthrough Network Load Balancer", minutes{10},
     "default and minimum; up to 16 h with PER_SESSION tracking and client-IP affinity",
     "https://cloud.google.com/compute/docs/reference/rest/v1/backendServices"},
    // kube-proxy writes nf_conntrack_tcp_timeout_established on every node it runs on.
    {"kube-proxy", "Kubernetes nodes (conntrack as kube-proxy sets it)", hours{24},
     "default of --conntrack-tcp-timeout-established; 0 keeps the host's value",
     "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-proxy/"},
    {"linux-conntrack", "Linux netfilter conntrack (iptables or nftables NAT, stateful rules)",
     seconds{432'000}, "default; sysctl net.netfilter.nf_conntrack_tcp_timeout_established",
     "https://docs.kernel.org/networking/nf_conntrack-sysctl.html"},
    {"oci-nlb", "Oracle Cloud Network Load Balancer (TCP listeners)", seconds{360},
     "default; configurable by CLI or API (tcp-idle-timeout)",
     "https://docs.oracle.com/en-us/iaas/Content/NetworkLoadBalancer/NetworkLoadBalancers/"
     "configure-idle-timeout.htm"},
};

static_assert(std::ranges::adjacent_find(kMiddleboxes, std::greater_equal<>{}, &Middlebox::name) ==
                  std::ranges::end(kMiddleboxes),
              "kMiddleboxes must be sorted by name, without duplicates");

char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, {}, ascii_lower, ascii_lower);
}

std::string known_names() {
  std::string names;
  for (const Middlebox& middlebox : kMiddleboxes) {
    if (!names.empty()) names += ", ";
    names += middlebox.name;
  }
  return names;
}

bool looks_like_duration(std::string_view text) {
  return !text.empty() && ((text.front() >= '0' && text.front() <= '9') || text.front() == '.');
}

}  // namespace

std::span<const Middlebox> known_middleboxes() {
  return kMiddleboxes;
}

Result<Middlebox> find_middlebox(std::string_view name_or_duration) {
  if (name_or_duration.empty()) {
    return errno_error(EINVAL, "no middlebox given: name one of " + known_names() +
                                   ", or give an idle limit such as 5m");
  }
  for (const Middlebox& middlebox : kMiddleboxes) {
    if (equals_ignoring_case(middlebox.name, name_or_duration)) return middlebox;
  }
  if (!looks_like_duration(name_or_duration)) {
    return errno_error(EINVAL, "unknown middlebox '" + printable(name_or_duration) +
                                   "': name one of " + known_names() +
                                   ", or give an idle limit such as 5m");
  }
  Result<Millis> limit = parse_duration(name_or_duration);
  if (!limit) return errno_error(EINVAL, limit.error().message);
  if (*limit <= Millis(0)) {
    return errno_error(EINVAL, "a middlebox idle limit of " + format_duration(*limit) +
                                   " forgets every flow: give one above 0s");
  }
  return Middlebox{"custom", "a middlebox with the idle limit given", *limit, "given as a duration",
                   ""};
}

}  // namespace tcpka
