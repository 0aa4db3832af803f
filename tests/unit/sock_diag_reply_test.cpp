// A sock_diag dump's replies read from bytes: the messages this kernel sends, and the
// ones it never should, which must fail cleanly rather than read past the reply.
#include "net/sock_diag_reply.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <vector>

namespace tcpka::net {
namespace {

// Netlink messages one after the other, each padded to 4 bytes as the kernel pads them.
class Reply {
 public:
  Reply& message(std::uint16_t type, const void* payload, std::size_t size,
                 std::uint32_t sequence = 1) {
    nlmsghdr header{};
    header.nlmsg_len = static_cast<std::uint32_t>(NLMSG_LENGTH(size));
    header.nlmsg_type = type;
    header.nlmsg_flags = NLM_F_MULTI;
    header.nlmsg_seq = sequence;
    append(&header, sizeof(header));
    append(payload, size);
    bytes_.resize(NLMSG_ALIGN(bytes_.size()));
    return *this;
  }
  Reply& socket(const inet_diag_msg& entry) {
    return message(SOCK_DIAG_BY_FAMILY, &entry, sizeof(entry));
  }
  Reply& done(int status = 0) { return message(NLMSG_DONE, &status, sizeof(status)); }

  std::vector<std::byte>& bytes() { return bytes_; }
  std::span<const std::byte> span() const { return bytes_; }

 private:
  void append(const void* data, std::size_t size) {
    const auto* first = static_cast<const std::byte*>(data);
    bytes_.insert(bytes_.end(), first, first + size);
  }
  std::vector<std::byte> bytes_;
};

inet_diag_msg established_ipv4() {
  inet_diag_msg entry{};
  entry.idiag_family = AF_INET;
  entry.idiag_state = 1;  // TCP_ESTABLISHED
  entry.idiag_timer = 2;  // keepalive
  entry.idiag_retrans = 3;
  entry.idiag_expires = 4'500;
  entry.idiag_inode = 12345;
  entry.id.idiag_sport = htons(7001);
  entry.id.idiag_dport = htons(41000);
  entry.id.idiag_src[0] = htonl(0x7f000001);
  entry.id.idiag_dst[0] = htonl(0x7f000002);
  return entry;
}

inet_diag_msg listening_ipv6() {
  inet_diag_msg entry{};
  entry.idiag_family = AF_INET6;
  entry.idiag_state = 10;  // TCP_LISTEN
  entry.id.idiag_sport = htons(7002);
  entry.id.idiag_src[3] = htonl(1);  // ::1
  return entry;
}

// An inet_diag_msg followed by an INET_DIAG_INFO attribute holding the first `length`
// bytes of `info` (an older kernel's shorter struct), as a dump with idiag_ext sends it.
std::vector<std::byte> with_tcp_info(const inet_diag_msg& entry, const tcp_info& info,
                                     std::size_t length) {
  std::vector<std::byte> payload(NLMSG_ALIGN(sizeof(entry)));
  std::memcpy(payload.data(), &entry, sizeof(entry));
  nlattr attribute{};
  attribute.nla_len = static_cast<std::uint16_t>(NLA_HDRLEN + length);
  attribute.nla_type = INET_DIAG_INFO;
  const std::size_t at = payload.size();
  payload.resize(at + NLA_ALIGN(attribute.nla_len));
  std::memcpy(payload.data() + at, &attribute, sizeof(attribute));
  std::memcpy(payload.data() + at + NLA_HDRLEN, &info, length);
  return payload;
}

TEST(SockDiagReply, ReadsTcpInfoAndTheCookie) {
  inet_diag_msg entry = established_ipv4();
  const std::uint64_t cookie = 0x1122334455667788;
  std::memcpy(entry.id.idiag_cookie, &cookie, sizeof(cookie));
  entry.idiag_uid = 1000;
  tcp_info info{};
  info.tcpi_probes = 2;
  info.tcpi_unacked = 7;
  info.tcpi_last_data_recv = 1234;
  info.tcpi_rto = 204'000;
  const auto payload = with_tcp_info(entry, info, sizeof(info));
  const auto parsed = parse_tcp_diag_message(payload);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->cookie, cookie);
  EXPECT_EQ(parsed->uid, 1000u);
  ASSERT_TRUE(parsed->tcp);
  EXPECT_EQ(parsed->tcp->probes, 2);
  EXPECT_EQ(parsed->tcp->unacked, 7u);
  EXPECT_EQ(parsed->tcp->since_data_received, Millis(1234));
  EXPECT_EQ(parsed->tcp->rto, std::chrono::microseconds(204'000));

  // A kernel whose tcp_info ends before tcpi_rto: the fields after it stay empty.
  const auto short_payload = with_tcp_info(entry, info, offsetof(tcp_info, tcpi_rto));
  const auto short_parsed = parse_tcp_diag_message(short_payload);
  ASSERT_TRUE(short_parsed && short_parsed->tcp);
  EXPECT_EQ(short_parsed->tcp->probes, 2);
  EXPECT_FALSE(short_parsed->tcp->rto);
  EXPECT_FALSE(short_parsed->tcp->unacked);

  // An attribute claiming more than the message holds is not read.
  auto truncated = with_tcp_info(entry, info, sizeof(info));
  truncated.resize(NLMSG_ALIGN(sizeof(entry)) + NLA_HDRLEN + 8);
  const auto truncated_parsed = parse_tcp_diag_message(truncated);
  ASSERT_TRUE(truncated_parsed);
  EXPECT_FALSE(truncated_parsed->tcp);
}

TEST(SockDiagReply, ReadsTheSocketsOfADump) {
  Reply reply;
  reply.socket(established_ipv4()).socket(listening_ipv6());
  std::vector<TcpSocketEntry> entries;
  auto read = read_tcp_diag_reply(reply.span(), 1, 0, entries);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(*read, DumpProgress::more);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(to_string(entries[0].local), "127.0.0.1:7001");
  EXPECT_EQ(to_string(entries[0].remote), "127.0.0.2:41000");
  EXPECT_EQ(entries[0].state, TcpConnectionState::established);
  EXPECT_EQ(entries[0].timer, TcpSocketEntry::Timer::keepalive);
  EXPECT_EQ(entries[0].timer_expires_ms, 4'500u);
  EXPECT_EQ(entries[0].retransmits, 3);
  EXPECT_EQ(entries[0].inode, 12345u);
  EXPECT_EQ(to_string(entries[1].local), "[::1]:7002");
  EXPECT_EQ(entries[1].state, TcpConnectionState::listen);

  Reply end;
  end.done();
  auto ended = read_tcp_diag_reply(end.span(), 1, 0, entries);
  ASSERT_TRUE(ended.ok()) << ended.error().message;
  EXPECT_EQ(*ended, DumpProgress::done);
  EXPECT_EQ(entries.size(), 2u);
}

// This kernel's answer to a dump it cannot make (a protocol without a sock_diag
// handler): NLMSG_DONE carrying -ENOENT. libmnl's own handler took it for an empty dump.
TEST(SockDiagReply, ADumpEndingInAnErrorIsThatError) {
  Reply reply;
  reply.done(-ENOENT);
  std::vector<TcpSocketEntry> entries;
  auto read = read_tcp_diag_reply(reply.span(), 1, 0, entries);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, std::errc::no_such_file_or_directory);
  const nlmsgerr refused{-EPERM, {}};
  Reply error;
  error.message(NLMSG_ERROR, &refused, sizeof(refused));
  auto failed = read_tcp_diag_reply(error.span(), 1, 0, entries);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, std::errc::operation_not_permitted);
}

// Found by fuzz/sock_diag_fuzzer: libmnl 1.0.4 compares a message's length as an int,
// so one claiming 2 GiB or more passed its check and its walk left the buffer (SEGV).
TEST(SockDiagReply, AMessageLongerThanTheReplyIsRefused) {
  Reply reply;
  reply.socket(established_ipv4()).socket(established_ipv4());
  const std::uint32_t huge = 0xb900007c;
  std::memcpy(reply.bytes().data() + NLMSG_LENGTH(sizeof(inet_diag_msg)), &huge, sizeof(huge));
  std::vector<TcpSocketEntry> entries;
  auto read = read_tcp_diag_reply(reply.span(), 1, 0, entries);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code.value(), EBADMSG);
  EXPECT_TRUE(entries.empty()) << "nothing is taken from a reply that does not hold together";
}

// The socket I/O read an inet_diag_msg from any SOCK_DIAG_BY_FAMILY message, whatever
// its length: 72 bytes from a message that held fewer.
TEST(SockDiagReply, AMessageTooShortForASocketIsRefused) {
  const std::uint8_t family = AF_INET;
  Reply reply;
  reply.message(SOCK_DIAG_BY_FAMILY, &family, sizeof(family));
  std::vector<TcpSocketEntry> entries;
  auto read = read_tcp_diag_reply(reply.span(), 1, 0, entries);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code.value(), EBADMSG);

  inet_diag_msg unix_socket = established_ipv4();
  unix_socket.idiag_family = AF_UNIX;
  EXPECT_FALSE(parse_tcp_diag_message(std::as_bytes(std::span(&unix_socket, 1))));
}

TEST(SockDiagReply, AnotherRequestsReplyIsRefused) {
  Reply reply;
  reply.message(SOCK_DIAG_BY_FAMILY, nullptr, 0, 7);
  std::vector<TcpSocketEntry> entries;
  EXPECT_FALSE(read_tcp_diag_reply(reply.span(), 1, 0, entries).ok());
}

}  // namespace
}  // namespace tcpka::net
