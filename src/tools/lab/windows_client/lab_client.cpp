// tcpka-lab-client.exe: the Windows program of the lab's Windows scenario. It connects
// to the lab's server, applies a policy through libtcpka, reads the server's first byte
// and waits in recv() until the connection ends. The lab runs it under Wine in its
// client host and reads these lines from its output:
//   applied mechanism=SIO_KEEPALIVE_VALS fixed_count=10
//   ready
//   closed error=10060
//
//   usage: tcpka-lab-client.exe ADDRESS PORT POLICY
#include <winsock2.h>
#include <ws2tcpip.h>

#include <cstdio>
#include <string>

#include "tcpka/socket_options.h"

namespace {

int usage(const char* why) {
  std::fprintf(stderr, "tcpka-lab-client: %s\nusage: tcpka-lab-client ADDRESS PORT POLICY\n", why);
  return 2;
}

void say(const std::string& line) {
  std::fputs((line + "\n").c_str(), stdout);
  std::fflush(stdout);  // the lab reads each line as it comes
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) return usage("three arguments expected");
  auto policy = tcpka::parse_policy(argv[3]);
  if (!policy) return usage(policy.error().message.c_str());

  WSADATA winsock;
  if (::WSAStartup(MAKEWORD(2, 2), &winsock) != 0) return usage("WSAStartup failed");
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* server = nullptr;
  if (::getaddrinfo(argv[1], argv[2], &hints, &server) != 0) {
    return usage("ADDRESS PORT must be a numeric address and port");
  }
  const SOCKET socket = ::socket(server->ai_family, SOCK_STREAM, IPPROTO_TCP);
  auto applied = tcpka::apply_policy(socket, *policy);
  if (!applied) {
    say("error " + applied.error().message);
    return 1;
  }
  say(std::string("applied mechanism=") +
      (applied->mechanism == tcpka::KeepaliveMechanism::socket_options ? "socket_options"
                                                                       : "SIO_KEEPALIVE_VALS") +
      " fixed_count=" + (applied->fixed_count ? std::to_string(*applied->fixed_count) : "-"));
  if (::connect(socket, server->ai_addr, static_cast<int>(server->ai_addrlen)) != 0) {
    say("error connect " + std::to_string(::WSAGetLastError()));
    return 1;
  }
  ::freeaddrinfo(server);

  char first = 0;
  if (::recv(socket, &first, 1, 0) != 1) {
    say("error first byte " + std::to_string(::WSAGetLastError()));
    return 1;
  }
  say("ready");
  // Nothing more comes: recv() returns when the kernel gives up on the server.
  const int received = ::recv(socket, &first, 1, 0);
  say("closed error=" + std::to_string(received < 0 ? ::WSAGetLastError() : 0));
  ::closesocket(socket);
  return 0;
}
