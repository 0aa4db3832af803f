// Very many per-connection deadlines, each armed, moved and cancelled in O(1).
//
// A hierarchical timing wheel (Varghese & Lauck, "Hashed and Hierarchical Timing Wheels",
// 1987), laid out as Linux's and Tokio's are: six levels of 64 slots, level l's slots
// each 64^l ticks wide, so that a deadline up to 2^31 ticks ahead is filed in one slot
// and moves down a level at most five times before it comes due. A 64-bit occupancy
// word per level finds the next slot that holds anything with one count-trailing-zeros.
//
// The wheel has no clock and no thread. A tick is whatever the caller says it is (a
// millisecond, 10 ms, a second): the caller turns times into ticks, asks next_due() how
// long its event loop may sleep, and calls advance() with the tick it has reached.
//
// Keys are the caller's own dense numbers (a file descriptor, a connection's slot), so
// that no map stands between a connection and its deadline. Each key costs 12 bytes:
// two links of a doubly linked slot list and a 32-bit deadline kept relative to the
// wheel's present (hence the 2^31-tick horizon: 24 days at 1 ms ticks).
//
// Two ways to move a deadline later:
//  - arm() moves the key to its new slot at once: three links rewritten;
//  - postpone() only records the new deadline, one store, as Netty's IdleStateHandler
//    records a read time; when the key's old slot comes due, the wheel sees the later
//    deadline and files the key again instead of expiring it. Activity that happens far
//    more often than deadlines come due (every read of a busy connection) costs almost
//    nothing, and the wheel looks at each key about once per deadline, however busy.
#pragma once

#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace tcpka {

class DeadlineWheel {
 public:
  using Key = std::uint32_t;
  using Tick = std::uint64_t;

  // How far ahead a deadline may be; arm() and postpone() clamp later ones to this.
  static constexpr Tick kHorizon = (Tick{1} << 31) - 1;

  // Keys 0..capacity-1 need no allocation; arming a key beyond them grows the wheel.
  // The wheel's present starts at tick `start`.
  explicit DeadlineWheel(std::size_t capacity = 0, Tick start = 0);

  // Makes room for keys 0..capacity-1 (the only place the wheel allocates).
  void reserve(std::size_t capacity);

  // Files `key` to come due at `deadline`, moving it if it was armed. A deadline not
  // after now() comes due at the next advance(), and reads back as now().
  void arm(Key key, Tick deadline);
  // Records a later deadline for an armed key without moving it (see above): one store,
  // no read, so that a busy connection's activity costs no wait on memory. Preconditions:
  // armed(key), and deadline >= deadline(key); to arm a key or move its deadline
  // earlier, use arm().
  void postpone(Key key, Tick deadline) {
    assert(armed(key) && deadline >= this->deadline(key));
    nodes_[kSentinels + key].deadline = relative(clamp(deadline));
  }
  void cancel(Key key);

  bool armed(Key key) const {
    return key < capacity_ && nodes_[kSentinels + key].prev != kUnlinked;
  }
  // Precondition: armed(key).
  Tick deadline(Key key) const { return absolute(nodes_[kSentinels + key].deadline); }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // The last tick advance() reached: every deadline up to it has come due.
  Tick now() const { return now_; }

  // The first tick at which advance() may have a key to expire; nothing if no key is
  // armed. It may come early, never late: a slot is reported when it starts, and a
  // postponed key is reported at its old deadline. A key armed in the past makes it now().
  std::optional<Tick> next_due() const;

  // Moves the present to `now` and calls expire(key) for each key whose deadline is at or
  // before it, in order of deadline (keys of one tick in no particular order). Each key is
  // disarmed before its call, so the callback may arm it again, or arm and cancel any
  // other key; a key armed for a tick already reached comes due at the next advance().
  // Returns how many keys expired. A `now` before now() changes nothing.
  template <class Expire>
  std::size_t advance(Tick now, Expire&& expire);

 private:
  static constexpr int kLevels = 6;
  static constexpr int kSlotBits = 6;
  static constexpr std::uint32_t kSlots = 1U << kSlotBits;
  // Node indices: each slot's list head, then the list of keys armed in the past, the
  // list being expired, and then the keys themselves.
  static constexpr std::uint32_t kDue = kLevels * kSlots;
  static constexpr std::uint32_t kExpiring = kDue + 1;
  static constexpr std::uint32_t kSentinels = kExpiring + 1;
  static constexpr std::uint32_t kUnlinked = 0xffffffff;

  // A circular doubly linked list: each slot's list head is a node too, so a key can be
  // unlinked without knowing which slot it is in.
  struct Node {
    std::uint32_t prev = kUnlinked;
    std::uint32_t next = kUnlinked;
    std::uint32_t deadline = 0;  // relative to now_, modulo 2^32 (see relative())
  };
  static_assert(sizeof(Node) == 12, "a key costs 12 bytes");

  struct DueSlot {
    int level;
    std::uint32_t slot;
    Tick start;
  };

  Tick clamp(Tick deadline) const {
    if (deadline < now_) return now_;
    return deadline - now_ > kHorizon ? now_ + kHorizon : deadline;
  }
  // Deadlines are stored modulo 2^32 and read back as the tick within 2^31 of now_ that
  // they name: every stored deadline is at most kHorizon ahead of now_ and, since keys
  // come due as now_ passes them, never far behind (advance() sees to the keys left
  // due when it jumps ahead).
  static std::uint32_t relative(Tick deadline) { return static_cast<std::uint32_t>(deadline); }
  Tick absolute(std::uint32_t stored) const {
    const auto offset = static_cast<std::int32_t>(stored - static_cast<std::uint32_t>(now_));
    return now_ + static_cast<Tick>(static_cast<std::int64_t>(offset));
  }

  void file(std::uint32_t node, Tick deadline);
  void link_last(std::uint32_t list, std::uint32_t node);
  void unlink(std::uint32_t node);
  // Moves every node of `from` to the end of `to`.
  void splice(std::uint32_t from, std::uint32_t to);
  bool list_empty(std::uint32_t list) const { return nodes_[list].next == list; }
  std::optional<DueSlot> next_slot() const;
  // Keys armed in the past by advance()'s callbacks stay due; their deadlines become
  // `now`, so that they read back right however far the present then jumps.
  void keep_due_readable(Tick now);
  // Expires or re-files what `kExpiring` holds; returns how many expired.
  template <class Expire>
  std::size_t drain_expiring(Expire& expire);

  std::vector<Node> nodes_;
  std::size_t capacity_ = 0;
  std::size_t size_ = 0;
  Tick now_;
  std::uint64_t occupied_[kLevels] = {};
};

template <class Expire>
std::size_t DeadlineWheel::drain_expiring(Expire& expire) {
  std::size_t expired = 0;
  while (!list_empty(kExpiring)) {
    const std::uint32_t node = nodes_[kExpiring].next;
    // The keys of a slot lie anywhere in memory: fetch the next while this one is handled.
    __builtin_prefetch(&nodes_[nodes_[node].next]);
    const Tick deadline = absolute(nodes_[node].deadline);
    unlink(node);
    if (deadline <= now_) {
      --size_;
      ++expired;
      expire(static_cast<Key>(node - kSentinels));
    } else {
      file(node, deadline);  // a cascade down a level, or a postponed key
    }
  }
  return expired;
}

template <class Expire>
std::size_t DeadlineWheel::advance(Tick now, Expire&& expire) {
  if (now < now_) return 0;
  // Keys armed in the past first: they are the most overdue.
  splice(kDue, kExpiring);
  std::size_t expired = drain_expiring(expire);
  while (const std::optional<DueSlot> due = next_slot()) {
    if (due->start > now) break;
    now_ = due->start;
    const std::uint32_t head = static_cast<std::uint32_t>(due->level) * kSlots + due->slot;
    splice(head, kExpiring);
    expired += drain_expiring(expire);
  }
  keep_due_readable(now);
  now_ = now;
  return expired;
}

}  // namespace tcpka
