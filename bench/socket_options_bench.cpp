// What applying and reading back a policy costs on a real socket: the per-accept price
// of verifying inheritance, and the price the LD_PRELOAD shim adds to socket().
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "net/unique_fd.h"
#include "tcpka/socket_options.h"
#include "tcpka/tcp_state.h"

namespace {

tcpka::net::UniqueFd tcp_socket() {
  return tcpka::net::UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
}

void apply(benchmark::State& state, const char* text) {
  const tcpka::Policy policy = *tcpka::parse_policy(text);
  auto fd = tcp_socket();
  for (auto _ : state)
    benchmark::DoNotOptimize(tcpka::apply_policy(fd.get(), policy));
}
BENCHMARK_CAPTURE(apply, fixed_user_timeout, "idle=10s,intvl=5s,cnt=5,ut=35s");
BENCHMARK_CAPTURE(apply, automatic_user_timeout, "idle=10s,intvl=5s,cnt=5,ut=auto");

void read_back(benchmark::State& state) {
  auto fd = tcp_socket();
  for (auto _ : state)
    benchmark::DoNotOptimize(tcpka::read_policy(fd.get()));
}
BENCHMARK(read_back);

void tcp_info_snapshot(benchmark::State& state) {
  auto fd = tcp_socket();
  for (auto _ : state)
    benchmark::DoNotOptimize(tcpka::read_tcp_state(fd.get()));
}
BENCHMARK(tcp_info_snapshot);

// The floor: a new socket with nothing set, to compare the above against.
void socket_and_close(benchmark::State& state) {
  for (auto _ : state)
    benchmark::DoNotOptimize(tcp_socket());
}
BENCHMARK(socket_and_close);

}  // namespace

BENCHMARK_MAIN();
