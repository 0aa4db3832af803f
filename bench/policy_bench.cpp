// Parsing and formatting policies: the cost a tool or a preloaded shim pays per policy.
#include <benchmark/benchmark.h>

#include "tcpka/policy.h"

namespace {

void parse(benchmark::State& state, const char* text) {
  for (auto _ : state)
    benchmark::DoNotOptimize(tcpka::parse_policy(text));
}
BENCHMARK_CAPTURE(parse, key_value, "idle=10s,intvl=5s,cnt=5,ut=auto");
BENCHMARK_CAPTURE(parse, nginx, "10:5:5");
BENCHMARK_CAPTURE(parse, rejected, "idle=0");

void format(benchmark::State& state) {
  const tcpka::Policy policy = *tcpka::parse_policy("idle=10s,intvl=5s,cnt=5,ut=auto");
  for (auto _ : state)
    benchmark::DoNotOptimize(tcpka::to_string(policy));
}
BENCHMARK(format);

}  // namespace

BENCHMARK_MAIN();
