// `tcpka serve --heartbeat` and `tcpka connect --heartbeat` run as a user runs them: the
// framed mode over loopback, a peer that hangs (SIGSTOP, or a raw client that stops
// answering), a peer that pings too often, and one that does not speak the protocol.
// Times are judged against the model's interval (tcpka/heartbeat.h), nothing tighter.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "net/heartbeat_frames.h"
#include "running_serve.h"
#include "support/bad_input.h"
#include "support/loopback.h"
#include "support/spawned_process.h"
#include "tcpka/heartbeat.h"

namespace tcpka {
namespace {

using namespace testing;
using namespace std::chrono_literals;

constexpr const char* kHeartbeat = "200ms,timeout=600ms";

// A client that speaks the framed mode by hand, each blocking call bounded.
class RawClient {
 public:
  explicit RawClient(int port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    const timeval limit{5, 0};
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
    const net::SocketAddress to = loopback_address(AF_INET, port);
    if (::connect(fd_.get(), to.get(), to.length) != 0) throw std::runtime_error("connect");
  }

  void send(std::string_view bytes) {
    if (::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(bytes.size())) {
      throw std::runtime_error("send");
    }
  }

  void shutdown_writes() { ::shutdown(fd_.get(), SHUT_WR); }

  // Everything the server sent until it closed (or 5 s passed), as frames.
  struct Heard {
    std::string data;  // data frames, headers included
    int pings = 0;
    int pongs = 0;
    bool closed = false;
  };
  Heard read_until_closed() {
    Heard heard;
    net::FrameReader reader;
    char buffer[4096];
    while (true) {
      const ssize_t n = ::recv(fd_.get(), buffer, sizeof(buffer), 0);
      if (n <= 0) {
        heard.closed = n == 0 || errno == ECONNRESET;
        return heard;
      }
      const auto status = net::read_frames(
          reader, std::string_view(buffer, static_cast<std::size_t>(n)),
          [&](std::string_view data) { heard.data += data; }, [&] { ++heard.pings; },
          [&] { ++heard.pongs; });
      if (status != net::FrameStatus::ok) throw std::runtime_error("serve sent a bad frame");
    }
  }

 private:
  net::UniqueFd fd_;
};

std::string data_frame(std::string_view payload) {
  std::string out;
  net::append_data_frames(out, payload);
  return out;
}

nlohmann::json first_close(RunningServe& server) {
  const auto line = server.process.wait_for_line("\"close\"", 30s);
  if (!line) throw std::runtime_error("serve logged no close: " + server.process.output());
  return nlohmann::json::parse(*line);
}

Detection hung_peer_model(const std::string& heartbeat) {
  const HeartbeatPolicy policy = *parse_heartbeat(heartbeat);
  return predict_heartbeat(PeerFailure::process_hung, policy, heartbeat_tick(policy));
}

// A client that stops answering after one message: serve echoes the message, pings the
// silent client each interval, and ends it once the timeout passes since its last bytes.
TEST(Heartbeat, ServeEndsAClientThatStopsAnswering) {
  RunningServe server = start_serve({"--heartbeat", kHeartbeat});
  RawClient client(server.port);
  client.send(data_frame("hello"));
  const RawClient::Heard heard = client.read_until_closed();
  EXPECT_EQ(heard.data, data_frame("hello"));
  EXPECT_GE(heard.pings, 2);  // at 200 and 400 ms of silence
  EXPECT_TRUE(heard.closed);
  const nlohmann::json close = first_close(server);
  EXPECT_EQ(close["cause"], "heartbeat_timeout");
  const Detection model = hung_peer_model(kHeartbeat);
  EXPECT_TRUE(model.admits(Millis(close["since_last_received_ms"].get<int>()))) << close;
}

// A client that pings about every interval keeps its connection past the timeout, and
// each ping is answered; data and heartbeats interleave.
TEST(Heartbeat, ServeKeepsAClientThatPingsAndAnswersEachPing) {
  RunningServe server = start_serve({"--heartbeat", kHeartbeat});
  RawClient client(server.port);
  for (int i = 0; i < 8; ++i) {  // 8 * 150 ms: twice the timeout
    client.send(net::control_frame(net::FrameType::ping));
    client.send(data_frame("x"));
    pollfd none{};
    ::poll(&none, 0, 150);  // the client's own schedule, not a wait for the server
  }
  EXPECT_FALSE(server.process.wait_for_line("\"close\"", 10ms).has_value());
  client.send(data_frame("bye"));
  client.shutdown_writes();
  const RawClient::Heard heard = client.read_until_closed();
  std::string expected;
  for (int i = 0; i < 8; ++i)
    expected += data_frame("x");
  EXPECT_EQ(heard.data, expected + data_frame("bye"));
  EXPECT_EQ(heard.pongs, 8);
  EXPECT_TRUE(heard.closed);
  EXPECT_EQ(first_close(server)["cause"], "peer_closed");
}

// A busy peer sends data and no heartbeats: under phi too, its data keeps it alive.
TEST(Heartbeat, ServeKeepsABusyClientUnderPhi) {
  RunningServe server = start_serve({"--heartbeat", "200ms,phi=8"});
  RawClient client(server.port);
  for (int i = 0; i < 15; ++i) {  // 1.5 s: twice phi's bound for 200 ms gaps
    client.send(data_frame("busy"));
    pollfd none{};
    ::poll(&none, 0, 100);  // the client's own schedule, not a wait for the server
  }
  EXPECT_FALSE(server.process.wait_for_line("\"close\"", 10ms).has_value());
  client.shutdown_writes();
  EXPECT_TRUE(client.read_until_closed().closed);
  EXPECT_EQ(first_close(server)["cause"], "peer_closed");
}

// gRPC's too_many_pings: pings closer than --min-ping-interval, three times in a row.
TEST(Heartbeat, ServeEndsAClientThatPingsTooOften) {
  RunningServe server = start_serve({"--heartbeat", kHeartbeat, "--min-ping-interval", "1s"});
  RawClient client(server.port);
  for (int i = 0; i < 4; ++i)
    client.send(net::control_frame(net::FrameType::ping));
  const RawClient::Heard heard = client.read_until_closed();
  EXPECT_TRUE(heard.closed);
  EXPECT_EQ(first_close(server)["cause"], "too_many_pings");
}

// An HTTP request is not frames: 'G' reads as a ping with a length.
TEST(Heartbeat, ServeEndsAClientThatDoesNotSpeakTheProtocol) {
  RunningServe server = start_serve({"--heartbeat", kHeartbeat});
  RawClient client(server.port);
  client.send("GET / HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(client.read_until_closed().closed);
  EXPECT_EQ(first_close(server)["cause"], "protocol_error");
}

// The peer-hung row of UNP's table, which keepalive cannot see: serve is stopped, its
// kernel still acknowledges everything, and connect's heartbeat ends the connection.
TEST(Heartbeat, ConnectFindsAStoppedServer) {
  RunningServe server = start_serve({"--heartbeat", kHeartbeat});
  SpawnedProcess client = SpawnedProcess::start(
      {TCPKA_BINARY, "connect", server.address, "--heartbeat", kHeartbeat, "--log", "json"});
  ASSERT_TRUE(client.wait_for_line("\"connecting\"", 30s)) << client.error_output();
  // Whether serve answered a few pings first or not, the kernel completes the handshake
  // and acknowledges the pings: the last bytes heard are the timeout before the end.
  server.process.signal(SIGSTOP);
  const auto closed = client.wait_for_line("\"close\"", 30s);
  server.process.signal(SIGCONT);
  ASSERT_TRUE(closed) << client.output();
  const auto event = nlohmann::json::parse(*closed);
  EXPECT_EQ(event["cause"], "heartbeat_timeout");
  EXPECT_TRUE(
      hung_peer_model(kHeartbeat).admits(Millis(event["since_last_received_ms"].get<int>())))
      << event;
  EXPECT_EQ(client.wait_exit(30s), 0);
}

// Heartbeats and keepalive side by side: whichever finds the silent peer first says so in
// the close line. The peer's socket drops everything it is sent, as a crashed host would.
// (Keepalive counts only until the first ping: a ping in flight makes an idle connection
// a sending one, which retransmissions and the user timeout rule, not keepalive.)
nlohmann::json close_of_connect_to_a_silenced_peer(const std::vector<std::string>& options) {
  net::UniqueFd listener = listen_on_loopback(AF_INET);
  const std::string address = "127.0.0.1:" + std::to_string(local_port(listener.get()));
  std::vector<std::string> argv = {TCPKA_BINARY, "connect", address, "--log", "json"};
  argv.insert(argv.end(), options.begin(), options.end());
  SpawnedProcess client = SpawnedProcess::start(argv);
  pollfd waiting{listener.get(), POLLIN, 0};
  if (::poll(&waiting, 1, 10'000) != 1) throw std::runtime_error("connect never connected");
  net::UniqueFd accepted(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  silence(accepted.get());
  const auto closed = client.wait_for_line("\"close\"", 30s);
  if (!closed) throw std::runtime_error("no close: " + client.output());
  return nlohmann::json::parse(*closed);
}

TEST(Heartbeat, KeepaliveFirstSaysKeepaliveAndHeartbeatFirstSaysHeartbeat) {
  const auto keepalive_first = close_of_connect_to_a_silenced_peer(
      {"--policy", "idle=1s,intvl=1s,cnt=2", "--heartbeat", "5s,timeout=20s"});
  EXPECT_EQ(keepalive_first["cause"], "keepalive_timeout") << keepalive_first;
  EXPECT_EQ(keepalive_first["errno"], "ETIMEDOUT");
  const auto heartbeat_first = close_of_connect_to_a_silenced_peer(
      {"--policy", "idle=10s,intvl=1s,cnt=2", "--heartbeat", kHeartbeat});
  EXPECT_EQ(heartbeat_first["cause"], "heartbeat_timeout") << heartbeat_first;
  EXPECT_TRUE(hung_peer_model(kHeartbeat)
                  .admits(Millis(heartbeat_first["since_last_received_ms"].get<int>())))
      << heartbeat_first;
}

TEST(Heartbeat, BadInputGetsOneLineAndExitTwo) {
  expect_bad_input(TCPKA_BINARY, "serve",
                   {{"--heartbeat", "soon"},
                    {"--heartbeat", "1s,timeout=1s"},
                    {"--min-ping-interval", "1s"},
                    {"--heartbeat", "1s", "--min-ping-interval", "x"}});
  expect_bad_input(
      TCPKA_BINARY, "connect",
      {{"127.0.0.1:1", "--heartbeat", "0s"}, {"127.0.0.1:1", "--heartbeat", "1s,phi=0"}});
}

}  // namespace
}  // namespace tcpka
