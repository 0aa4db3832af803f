// tcpka::DeadlineWheel against the timer structures a C++ server would otherwise use,
// each holding 1,000,000 pending per-connection deadlines, side by side in one run:
//   std::priority_queue   a binary heap; moving a deadline pushes a new entry and leaves
//                         the old one to be skipped when it surfaces (lazy deletion)
//   std::multimap         a red-black tree; moving a deadline re-keys the node in place
//                         (extract / insert, no allocation)
//   boost::asio           one steady-style timer per connection in an io_context, as an
//                         Asio server holds them; a manual clock drives it (see below)
//   DeadlineWheel arm     moves the key at once
//   DeadlineWheel lazy    postpone(): records the deadline, files the key when it comes due
//
// The workload is a server's: 1 ms ticks; activity lands on connections in random order,
// 1,000 per tick (each connection about once a second), and each structure handles the
// tick's due deadlines as its event loop would. Operations are counted per second of one
// core's (CPU) time.
//   arm:     arm 1,000,000 connections from empty, deadlines spread over 60 s
//   re-arm:  activity on random connections: each moves its deadline 10 s ahead; the run
//            lasts 20 s of ticks, so that the heap also pays for skipping its stale
//            entries (they surface a timeout after they were pushed)
//   cancel:  cancel every connection, in random order
//   expire:  1,000,000 deadlines spread over 60 s, expired tick by tick
#include <benchmark/benchmark.h>

#include <algorithm>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <queue>
#include <random>
#include <string_view>
#include <vector>

#include "tcpka/deadline_wheel.h"

namespace {

using Tick = std::uint64_t;
using Key = std::uint32_t;

constexpr Key kConnections = 1'000'000;
constexpr Tick kTimeout = 60'000;
constexpr Tick kRearmTimeout = 10'000;
constexpr int kActivityPerTick = 1'000;

// --- the structures, behind one small interface ------------------------------------------

class Wheel {
 public:
  explicit Wheel(bool lazy) : lazy_(lazy), wheel_(kConnections) {}
  void arm(Key key, Tick deadline) { wheel_.arm(key, deadline); }
  void rearm(Key key, Tick deadline) {
    if (lazy_) {
      wheel_.postpone(key, deadline);
    } else {
      wheel_.arm(key, deadline);
    }
  }
  void cancel(Key key) { wheel_.cancel(key); }
  std::size_t expire(Tick now) {
    return wheel_.advance(now, [](Key key) { benchmark::DoNotOptimize(key); });
  }

 private:
  bool lazy_;
  tcpka::DeadlineWheel wheel_;
};

class Heap {
 public:
  Heap() : generation_(kConnections, 0) {}
  void arm(Key key, Tick deadline) { heap_.push({deadline, key, ++generation_[key]}); }
  void rearm(Key key, Tick deadline) { arm(key, deadline); }
  void cancel(Key key) { ++generation_[key]; }
  std::size_t expire(Tick now) {
    std::size_t expired = 0;
    while (!heap_.empty() && heap_.top().deadline <= now) {
      const Entry top = heap_.top();
      heap_.pop();
      if (top.generation != generation_[top.key]) continue;  // moved or cancelled
      benchmark::DoNotOptimize(top.key);
      ++expired;
    }
    return expired;
  }

 private:
  struct Entry {
    Tick deadline;
    Key key;
    std::uint32_t generation;
    bool operator>(const Entry& other) const { return deadline > other.deadline; }
  };
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap_;
  std::vector<std::uint32_t> generation_;
};

class Tree {
 public:
  Tree() : where_(kConnections) {}
  void arm(Key key, Tick deadline) { where_[key] = tree_.emplace(deadline, key); }
  void rearm(Key key, Tick deadline) {
    auto node = tree_.extract(where_[key]);
    node.key() = deadline;
    where_[key] = tree_.insert(std::move(node));
  }
  void cancel(Key key) { tree_.erase(where_[key]); }
  std::size_t expire(Tick now) {
    std::size_t expired = 0;
    while (!tree_.empty() && tree_.begin()->first <= now) {
      benchmark::DoNotOptimize(tree_.begin()->second);
      tree_.erase(tree_.begin());
      ++expired;
    }
    return expired;
  }

 private:
  std::multimap<Tick, Key> tree_;
  std::vector<std::multimap<Tick, Key>::iterator> where_;
};

// Asio's timers read their clock through a clock type; this one reads a number the
// benchmark sets, so that 60 s of deadlines pass in the time it takes to expire them.
struct ManualClock {
  using rep = std::int64_t;
  using period = std::milli;
  using duration = std::chrono::duration<rep, period>;
  using time_point = std::chrono::time_point<ManualClock>;
  static constexpr bool is_steady = true;
  static inline Tick now_ticks = 0;
  static time_point now() noexcept { return time_point(duration(now_ticks)); }
};

// With the manual clock the reactor must look at its timer queue on every poll, not only
// when a timerfd set from the real clock fires: the select reactor does.
class Asio {
 public:
  Asio() {
    timers_.reserve(kConnections);
    for (Key key = 0; key < kConnections; ++key)
      timers_.push_back(std::make_unique<Timer>(io_));
  }
  void arm(Key key, Tick deadline) {
    Timer& timer = *timers_[key];
    timer.expires_at(ManualClock::time_point(ManualClock::duration(deadline)));
    timer.async_wait([this](const boost::system::error_code& error) {
      if (!error) ++expired_;
    });
  }
  // expires_at() cancels the pending wait (its handler runs with operation_aborted at
  // the next poll), and a new wait is started: what an Asio server does on activity.
  void rearm(Key key, Tick deadline) { arm(key, deadline); }
  void cancel(Key key) { timers_[key]->cancel(); }
  std::size_t expire(Tick now) {
    ManualClock::now_ticks = now;
    expired_ = 0;
    io_.poll();
    io_.restart();
    return expired_;
  }

 private:
  using Timer = boost::asio::basic_waitable_timer<ManualClock>;
  boost::asio::io_context io_{1};
  std::vector<std::unique_ptr<Timer>> timers_;
  std::size_t expired_ = 0;
};

// --- the workloads ------------------------------------------------------------------------

std::vector<Key> shuffled_keys(std::uint64_t seed) {
  std::vector<Key> keys(kConnections);
  std::iota(keys.begin(), keys.end(), Key{0});
  std::shuffle(keys.begin(), keys.end(), std::mt19937_64(seed));
  return keys;
}

// Every connection armed, its deadline between `from` and `from` + 60 s.
template <class Structure>
void arm_all(Structure& s, Tick from) {
  std::mt19937_64 random(1);
  for (Key key = 0; key < kConnections; ++key)
    s.arm(key, from + random() % kTimeout);
}

// Times `timed` on a new structure per iteration, of 1,000,000 connections: building it
// (and arming every connection, if `armed`) and destroying it are not counted.
template <class Structure, class Timed, class... Args>
void on_fresh_structures(benchmark::State& state, bool armed, Timed timed, Args... args) {
  for (auto _ : state) {
    state.PauseTiming();
    auto s = std::make_unique<Structure>(args...);
    ManualClock::now_ticks = 0;
    if (armed) arm_all(*s, 1);
    state.ResumeTiming();
    timed(*s);
    state.PauseTiming();
    s.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kConnections);
}

template <class Structure, class... Args>
void bm_arm(benchmark::State& state, Args... args) {
  const std::vector<Key> keys = shuffled_keys(2);
  on_fresh_structures<Structure>(
      state, false,
      [&](Structure& s) {
        for (Key key : keys)
          s.arm(key, 1 + key % kTimeout);
      },
      args...);
}

template <class Structure, class... Args>
void bm_rearm(benchmark::State& state, Args... args) {
  Structure s(args...);
  ManualClock::now_ticks = 0;
  // As if each connection had been active in the last 10 s: activity reaches every one of
  // them within the first second, long before the first deadline.
  std::mt19937_64 random(1);
  for (Key key = 0; key < kConnections; ++key)
    s.arm(key, kRearmTimeout + random() % kRearmTimeout);
  const std::vector<Key> keys = shuffled_keys(3);
  std::size_t next = 0;
  Tick now = 0;
  std::size_t expired = 0;
  for (auto _ : state) {
    for (int i = 0; i < kActivityPerTick; ++i) {
      s.rearm(keys[next], now + kRearmTimeout);
      next = next + 1 == keys.size() ? 0 : next + 1;
    }
    expired += s.expire(++now);
  }
  state.SetItemsProcessed(state.iterations() * kActivityPerTick);
  // Every connection is active about once a second: none may time out.
  if (expired != 0) state.SkipWithError("a deadline expired under steady activity");
}

template <class Structure, class... Args>
void bm_cancel(benchmark::State& state, Args... args) {
  const std::vector<Key> keys = shuffled_keys(4);
  on_fresh_structures<Structure>(
      state, true,
      [&](Structure& s) {
        for (Key key : keys)
          s.cancel(key);
        s.expire(0);  // what a cancel leaves behind for the loop (Asio's aborted handlers)
      },
      args...);
}

template <class Structure, class... Args>
void bm_expire(benchmark::State& state, Args... args) {
  on_fresh_structures<Structure>(
      state, true,
      [&](Structure& s) {
        std::size_t expired = 0;
        for (Tick now = 1; now <= kTimeout + 1; ++now)
          expired += s.expire(now);
        if (expired != kConnections) state.SkipWithError("not every deadline expired");
      },
      args...);
}

// One registration per operation and structure, in the order the table reads best.
void register_all() {
  const auto add = [](const char* name, auto function) {
    auto* registered = benchmark::RegisterBenchmark(name, function)->Unit(benchmark::kMillisecond);
    if (std::string_view(name).starts_with("rearm/")) registered->Iterations(2 * kRearmTimeout);
  };
  add("arm/priority_queue", [](benchmark::State& s) { bm_arm<Heap>(s); });
  add("arm/multimap", [](benchmark::State& s) { bm_arm<Tree>(s); });
  add("arm/asio", [](benchmark::State& s) { bm_arm<Asio>(s); });
  add("arm/wheel", [](benchmark::State& s) { bm_arm<Wheel>(s, false); });
  add("rearm/priority_queue", [](benchmark::State& s) { bm_rearm<Heap>(s); });
  add("rearm/multimap", [](benchmark::State& s) { bm_rearm<Tree>(s); });
  add("rearm/asio", [](benchmark::State& s) { bm_rearm<Asio>(s); });
  add("rearm/wheel_arm", [](benchmark::State& s) { bm_rearm<Wheel>(s, false); });
  add("rearm/wheel_lazy", [](benchmark::State& s) { bm_rearm<Wheel>(s, true); });
  add("cancel/priority_queue", [](benchmark::State& s) { bm_cancel<Heap>(s); });
  add("cancel/multimap", [](benchmark::State& s) { bm_cancel<Tree>(s); });
  add("cancel/asio", [](benchmark::State& s) { bm_cancel<Asio>(s); });
  add("cancel/wheel", [](benchmark::State& s) { bm_cancel<Wheel>(s, false); });
  add("expire/priority_queue", [](benchmark::State& s) { bm_expire<Heap>(s); });
  add("expire/multimap", [](benchmark::State& s) { bm_expire<Tree>(s); });
  add("expire/asio", [](benchmark::State& s) { bm_expire<Asio>(s); });
  add("expire/wheel", [](benchmark::State& s) { bm_expire<Wheel>(s, false); });
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
