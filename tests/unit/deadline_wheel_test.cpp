#include "tcpka/deadline_wheel.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <utility>
#include <vector>

namespace tcpka {
namespace {

using Tick = DeadlineWheel::Tick;
using Key = DeadlineWheel::Key;

std::vector<Key> advance_to(DeadlineWheel& wheel, Tick now) {
  std::vector<Key> expired;
  wheel.advance(now, [&](Key key) { expired.push_back(key); });
  return expired;
}

TEST(DeadlineWheel, ExpiresAKeyAtItsTickAndNotBefore) {
  DeadlineWheel wheel(8);
  wheel.arm(3, 100);
  EXPECT_TRUE(wheel.armed(3));
  EXPECT_EQ(wheel.deadline(3), 100U);
  // 100 is on level 1 (64..4095): the wheel looks at its slot's start, 64, first.
  EXPECT_EQ(wheel.next_due(), Tick{64});
  EXPECT_TRUE(advance_to(wheel, 64).empty());
  EXPECT_EQ(wheel.next_due(), Tick{100});
  EXPECT_TRUE(advance_to(wheel, 99).empty());
  EXPECT_EQ(advance_to(wheel, 100), std::vector<Key>{3});
  EXPECT_FALSE(wheel.armed(3));
  EXPECT_TRUE(wheel.empty());
  EXPECT_EQ(wheel.next_due(), std::nullopt);
}

TEST(DeadlineWheel, ExpiresInDeadlineOrderAcrossEveryLevel) {
  DeadlineWheel wheel(6);
  // One key per level: 64^l ticks ahead for l = 0..5 (the last near the horizon).
  const Tick deadlines[] = {5, 300, 20'000, 1'000'000, 70'000'000, 2'000'000'000};
  for (Key key = 0; key < 6; ++key)
    wheel.arm(5 - key, deadlines[key]);
  std::vector<std::pair<Key, Tick>> expired;
  Tick now = 0;
  while (const auto due = wheel.next_due()) {
    now = *due;
    wheel.advance(now, [&](Key key) { expired.emplace_back(key, now); });
  }
  ASSERT_EQ(expired.size(), 6U);
  for (Key i = 0; i < 6; ++i) {
    EXPECT_EQ(expired[i].first, 5 - i);
    EXPECT_EQ(expired[i].second, deadlines[i]) << "key " << 5 - i;
  }
}

TEST(DeadlineWheel, ArmMovesAKeyEarlierOrLaterAndCancelRemovesIt) {
  DeadlineWheel wheel(4);
  wheel.arm(0, 500);
  wheel.arm(1, 600);
  wheel.arm(2, 700);
  wheel.arm(0, 800);  // later
  wheel.arm(2, 100);  // earlier
  wheel.cancel(1);
  wheel.cancel(3);  // never armed: nothing happens
  EXPECT_EQ(wheel.size(), 2U);
  EXPECT_EQ(advance_to(wheel, 100), std::vector<Key>{2});
  EXPECT_TRUE(advance_to(wheel, 799).empty());
  EXPECT_EQ(advance_to(wheel, 800), std::vector<Key>{0});
}

TEST(DeadlineWheel, APostponedKeyComesDueAtItsNewDeadlineOnly) {
  DeadlineWheel wheel(2);
  wheel.arm(0, 100);
  wheel.postpone(0, 250);
  EXPECT_EQ(wheel.deadline(0), 250U);
  // Its old tick makes the wheel look (next_due may be early), then it is filed again.
  EXPECT_TRUE(advance_to(wheel, 100).empty());
  EXPECT_TRUE(wheel.armed(0));
  EXPECT_LE(wheel.next_due(), Tick{250});
  EXPECT_TRUE(advance_to(wheel, 249).empty());
  EXPECT_EQ(advance_to(wheel, 250), std::vector<Key>{0});
}

TEST(DeadlineWheel, AKeyArmedInThePastComesDueAtTheNextAdvance) {
  DeadlineWheel wheel(2, 1'000);
  wheel.arm(1, 10);
  EXPECT_EQ(wheel.deadline(1), 1'000U);
  EXPECT_EQ(wheel.next_due(), Tick{1'000});
  EXPECT_EQ(advance_to(wheel, 1'000), std::vector<Key>{1});
}

TEST(DeadlineWheel, ACallbackMayReArmItsOwnKeyAndCancelAnother) {
  DeadlineWheel wheel(3);
  wheel.arm(0, 10);
  wheel.arm(1, 10);
  wheel.arm(2, 11);
  std::vector<Key> expired;
  wheel.advance(20, [&](Key key) {
    expired.push_back(key);
    if (key == 0 && expired.size() == 1) {
      wheel.arm(0, 15);  // still within this advance: comes due in it
      wheel.cancel(1);   // due in the same tick, not yet expired: never expires
    }
  });
  EXPECT_EQ(expired, (std::vector<Key>{0, 2, 0}));
  EXPECT_TRUE(wheel.empty());
}

TEST(DeadlineWheel, AKeyReArmedForATickAlreadyReachedWaitsForTheNextAdvance) {
  DeadlineWheel wheel(1);
  wheel.arm(0, 10);
  int calls = 0;
  wheel.advance(10, [&](Key key) {
    ++calls;
    wheel.arm(key, 10);  // a callback that always re-arms must not spin
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(advance_to(wheel, 10), std::vector<Key>{0});
}

TEST(DeadlineWheel, DeadlinesBeyondTheHorizonAreClamped) {
  DeadlineWheel wheel(1);
  wheel.arm(0, Tick{1} << 40);
  EXPECT_EQ(wheel.deadline(0), DeadlineWheel::kHorizon);
}

TEST(DeadlineWheel, GrowsForKeysBeyondItsCapacity) {
  DeadlineWheel wheel(1);
  wheel.arm(100'000, 3);
  EXPECT_EQ(advance_to(wheel, 3), std::vector<Key>{100'000});
}

TEST(DeadlineWheel, SurvivesAJumpPastTheHorizonWithAKeyLeftDue) {
  DeadlineWheel wheel(2);
  wheel.arm(0, 5);
  // The callback arms key 1 in the past while the present jumps 3 * 2^31 ticks ahead.
  wheel.advance(Tick{3} << 31, [&](Key) { wheel.arm(1, 0); });
  EXPECT_EQ(wheel.deadline(1), Tick{3} << 31);
  EXPECT_EQ(advance_to(wheel, (Tick{3} << 31) + 1), std::vector<Key>{1});
}

// Two wheels, as two threads of a server would hold them, keep their keys in one array.
TEST(DeadlineWheel, WheelsShareKeyStorageTheCallerGives) {
  std::vector<DeadlineWheel::KeyNode> keys(8);
  DeadlineWheel even(keys.data(), keys.size());
  DeadlineWheel odd(keys.data(), keys.size());
  for (Key key = 0; key < 8; ++key)
    (key % 2 == 0 ? even : odd).arm(key, 10 + key);
  EXPECT_EQ(advance_to(even, 100), (std::vector<Key>{0, 2, 4, 6}));
  DeadlineWheel moved = std::move(odd);
  EXPECT_EQ(advance_to(moved, 100), (std::vector<Key>{1, 3, 5, 7}));
}

// The wheel against a plain ordered map of the same deadlines, over random arms, moves,
// postpones, cancels and advances of random lengths: every key expires in the advance
// that reaches its deadline, never sooner, never later.
TEST(DeadlineWheel, AgreesWithAnOrderedMapOverRandomOperations) {
  std::mt19937_64 random(20261203);
  constexpr Key kKeys = 2'000;
  DeadlineWheel wheel(kKeys, 12'345);
  std::map<Key, Tick> reference;
  Tick now = 12'345;
  const auto random_deadline = [&] {
    // Mostly near (level 0 and 1), sometimes far (levels 2..5), sometimes in the past.
    switch (random() % 8) {
      case 0:
        return now - random() % 50;
      case 1:
        return now + random() % 10'000'000;
      case 2:
        return now + random() % 100'000;
      default:
        return now + random() % 3'000;
    }
  };
  for (int step = 0; step < 200'000; ++step) {
    const Key key = static_cast<Key>(random() % kKeys);
    switch (random() % 10) {
      case 0:
      case 1:
      case 2:
      case 3: {
        const Tick deadline = random_deadline();
        wheel.arm(key, deadline);
        reference[key] = std::max(deadline, now);
        break;
      }
      case 4:
      case 5:
        if (reference.contains(key)) {
          const Tick later = reference[key] + random() % 5'000;
          wheel.postpone(key, later);
          reference[key] = later;
        }
        break;
      case 6:
        wheel.cancel(key);
        reference.erase(key);
        break;
      default: {
        const Tick to = now + random() % (random() % 50 == 0 ? 5'000'000 : 400);
        std::set<Key> expired;
        wheel.advance(to, [&](Key k) { EXPECT_TRUE(expired.insert(k).second) << k; });
        std::set<Key> expected;
        for (auto it = reference.begin(); it != reference.end();) {
          if (it->second <= to) {
            expected.insert(it->first);
            it = reference.erase(it);
          } else {
            ++it;
          }
        }
        ASSERT_EQ(expired, expected) << "advance to " << to << " at step " << step;
        now = to;
        break;
      }
    }
    ASSERT_EQ(wheel.size(), reference.size());
  }
  for (const auto& [key, deadline] : reference)
    EXPECT_EQ(wheel.deadline(key), deadline);
}

}  // namespace
}  // namespace tcpka
