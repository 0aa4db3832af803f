// The false-kill model against its definition: closed forms where there are some, an
// independent simulation of the kernel's keepalive timer otherwise, and the recommendation
// against the goal it was given.
#include "tcpka/false_kills.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace tcpka {
namespace {

constexpr Millis kDay{86'400'000};

ResolvedPolicy keepalive(Millis idle, Millis interval, int count, Millis user_timeout = Millis(0)) {
  return {true, idle, interval, count, user_timeout};
}

TEST(FalseKills, CountOrTheUserTimeoutDecidesHowManyLossesKill) {
  EXPECT_EQ(fatal_probe_losses(keepalive(Millis(10'000), Millis(2'000), 5)), 5);
  // ut=auto (idle + intvl * cnt) keeps the count.
  EXPECT_EQ(fatal_probe_losses(keepalive(Millis(10'000), Millis(2'000), 5, Millis(20'000))), 5);
  // A shorter user timeout: the first run at or after it, 3 probes after idle.
  EXPECT_EQ(fatal_probe_losses(keepalive(Millis(10'000), Millis(2'000), 5, Millis(15'000))), 3);
  // A user timeout under idle still needs one unanswered probe.
  EXPECT_EQ(fatal_probe_losses(keepalive(Millis(10'000), Millis(2'000), 5, Millis(4'000))), 1);
  // And a longer one outlasts the count.
  EXPECT_EQ(fatal_probe_losses(keepalive(Millis(10'000), Millis(2'000), 5, Millis(30'000))), 10);
}

TEST(FalseKills, NoLossOrNoKeepaliveNeverKills) {
  EXPECT_EQ(false_kill_probability(keepalive(Millis(1'000), Millis(1'000), 1), {}, kDay), 0);
  EXPECT_EQ(false_kill_probability(ResolvedPolicy{}, {0.5, 0.5}, kDay), 0);
}

// Before the first possible kill nothing dies; at it, exactly `count` losses in a row did:
// with idle 1 s, interval 1 s, 2 probes, the first kill is at 3 s and the next chance at 4 s.
TEST(FalseKills, TheFirstCycleIsQToTheCount) {
  const PathLoss loss{0.1, 0.1};
  const double q = loss.round_trip();
  EXPECT_NEAR(q, 0.19, 1e-12);
  const ResolvedPolicy policy = keepalive(Millis(1'000), Millis(1'000), 2);
  EXPECT_EQ(false_kill_probability(policy, loss, Millis(2'999)), 0);
  EXPECT_NEAR(false_kill_probability(policy, loss, Millis(3'000)), q * q, 1e-12);
  // By 4 s: killed at 3 s, or answered at 1 s and then two losses (kill at 4 s).
  EXPECT_NEAR(false_kill_probability(policy, loss, Millis(4'000)), q * q + (1 - q) * q * q, 1e-12);
}

// The kernel's keepalive timer, step by step, for many connections: a walk of its own,
// written apart from the model's grid.
double simulate(const ResolvedPolicy& policy, PathLoss loss, Millis within, int connections) {
  std::mt19937_64 random(12345);
  std::bernoulli_distribution lost_out(loss.to_peer), lost_back(loss.from_peer);
  const int fatal = fatal_probe_losses(policy);
  int killed = 0;
  for (int c = 0; c < connections; ++c) {
    std::int64_t last_received = 0;
    std::int64_t next_run = policy.idle.count();
    int probes_out = 0;
    while (next_run <= within.count()) {
      if (probes_out >= fatal) {
        ++killed;
        break;
      }
      const std::int64_t now = next_run;
      const bool answered = !lost_out(random) && !lost_back(random);
      ++probes_out;
      if (answered) {
        probes_out = 0;
        last_received = now;
        next_run = last_received + std::max(policy.idle, policy.interval).count();
      } else {
        next_run = now + policy.interval.count();
      }
    }
  }
  return static_cast<double>(killed) / connections;
}

TEST(FalseKills, TheModelAgreesWithASimulationOfTheTimer) {
  struct Case {
    ResolvedPolicy policy;
    PathLoss loss;
    Millis within;
  };
  for (const Case& c :
       {Case{keepalive(Millis(1'000), Millis(1'000), 2), {0.1, 0.1}, Millis(15'000)},
        Case{keepalive(Millis(1'000), Millis(1'000), 3), {0.1, 0.1}, Millis(15'000)},
        Case{
            keepalive(Millis(2'000), Millis(1'000), 3, Millis(4'000)), {0.2, 0.05}, Millis(30'000)},
        Case{keepalive(Millis(1'500), Millis(1'000), 2), {0.05, 0.05}, Millis(20'000)}}) {
    constexpr int kConnections = 200'000;
    const double predicted = false_kill_probability(c.policy, c.loss, c.within);
    const double simulated = simulate(c.policy, c.loss, c.within, kConnections);
    const double sigma = std::sqrt(predicted * (1 - predicted) / kConnections);
    EXPECT_NEAR(simulated, predicted, 5 * sigma + 1e-9)
        << "idle " << c.policy.idle.count() << " count " << c.policy.count;
  }
}

// Over a day on a one-second grid the walk is exact; the renewal's limit agrees.
TEST(FalseKills, TheExactWalkAndTheLimitAgreeOverADay) {
  const ResolvedPolicy policy = keepalive(Millis(10'000), Millis(2'000), 3);
  const PathLoss loss{0.05, 0.05};
  const double exact = false_kill_probability(policy, loss, kDay);
  // 1 ms off the grid: the walk's grid would have 86.4 million steps, so the limit answers.
  const ResolvedPolicy off_grid = keepalive(Millis(10'001), Millis(2'000), 3);
  const double limit = false_kill_probability(off_grid, loss, kDay);
  EXPECT_GT(exact, 0.5);
  EXPECT_NEAR(limit, exact, 0.01 * exact);
}

TEST(FalseKills, TheRecommendationMeetsItsGoalAndIsTheFastest) {
  RecommendationGoal goal;
  goal.loss = {0.01, 0.01};
  goal.idle_limit = Millis(350'000);
  goal.false_kills_per_day = 1e-6;
  auto r = recommend_policy(goal);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_LE(r->false_kills_per_day, 1e-6);
  EXPECT_EQ(r->false_kills_per_day, false_kill_probability(r->policy, goal.loss, kDay));
  EXPECT_GE(r->policy.idle, goal.min_idle);
  EXPECT_LE(r->policy.idle, Millis(315'000)) << "under 90% of the middlebox's limit";
  EXPECT_EQ(r->policy.user_timeout, r->policy.idle + r->policy.count * r->policy.interval);
  EXPECT_EQ(r->detection, r->policy.user_timeout);
  // One probe fewer at the same timings kills too often.
  ResolvedPolicy fewer = r->policy;
  fewer.count -= 1;
  fewer.user_timeout -= fewer.interval;
  EXPECT_GT(false_kill_probability(fewer, goal.loss, kDay), 1e-6);
}

TEST(FalseKills, AGoalThatNothingMeetsSaysSo) {
  RecommendationGoal goal;
  goal.loss = {0.6, 0.6};
  auto r = recommend_policy(goal);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("no policy"), std::string::npos) << r.error().message;
  goal.loss = {0.01, 0.01};
  goal.idle_limit = Millis(5'000);  // under the 10 s least idle
  EXPECT_FALSE(recommend_policy(goal).ok());
}

}  // namespace
}  // namespace tcpka
