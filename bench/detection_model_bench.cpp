// predict(): one cell of `tcpka policy`'s table, and the whole table.
#include <benchmark/benchmark.h>

#include "tcpka/detection_model.h"

namespace {

const tcpka::SystemDefaults kSystem;
const tcpka::ResolvedPolicy kPolicy{true, tcpka::Millis(10'000), tcpka::Millis(5'000), 5,
                                    tcpka::Millis(0)};

void idle_keepalive(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        tcpka::predict(tcpka::PeerFailure::host_silent, tcpka::Activity::idle, kPolicy, kSystem));
  }
}
BENCHMARK(idle_keepalive);

// Unacknowledged data without a known RTO replays the retransmission timer for every
// RTO the path may have (the give-up time is not monotonic in it).
void unacked_data_unknown_rto(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(tcpka::predict(tcpka::PeerFailure::host_silent,
                                            tcpka::Activity::sending, kPolicy, kSystem));
  }
}
BENCHMARK(unacked_data_unknown_rto);

void whole_table(benchmark::State& state) {
  for (auto _ : state) {
    for (int failure = 0; failure <= static_cast<int>(tcpka::PeerFailure::process_hung);
         ++failure) {
      for (int activity = 0; activity <= static_cast<int>(tcpka::Activity::connecting);
           ++activity) {
        benchmark::DoNotOptimize(tcpka::predict(static_cast<tcpka::PeerFailure>(failure),
                                                static_cast<tcpka::Activity>(activity), kPolicy,
                                                kSystem));
      }
    }
  }
}
BENCHMARK(whole_table);

}  // namespace

BENCHMARK_MAIN();
