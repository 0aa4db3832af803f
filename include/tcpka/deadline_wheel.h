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
// wheel's present (hence the 2^31-tick horizon: 24 days at 1 ms ticks). The wheel keeps
// them itself, or in an array the caller gives it, which several wheels may share as
// long as each key is only ever in one of them: the threads of a server indexed by file
// descriptor then pay 12 bytes per connection, not 12 per connection per thread.
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

 private:
  static constexpr int kLevels = 6;
  static constexpr int kSlotBits = 6;
  static constexpr std::uint32_t kSlots = 1U << kSlotBits;
  // Node indices: 0 for none (so that zero bytes are an unarmed key), each slot's list
  // head (level * 64 + slot + 1), the list of keys armed in the past, the list being
  // expired, and then the keys themselves.
  static constexpr std::uint32_t kUnlinked = 0;
  static constexpr std::uint32_t kDue = kLevels * kSlots + 1;
  static constexpr std::uint32_t kExpiring = kDue + 1;
  static constexpr std::uint32_t kSentinels = kExpiring + 1;
  static constexpr std::uint32_t head_of(int level, std::uint32_t slot) {
    return static_cast<std::uint32_t>(level) * kSlots + slot + 1;
  }

 public:
  // How far ahead a deadline may be; arm() and postpone() clamp later ones to this.
  static constexpr Tick kHorizon = (Tick{1} << 31) - 1;

  // A key's place in the wheel. Opaque; public so that callers can give the storage.
  struct KeyNode {
    std::uint32_t prev = kUnlinked;
    std::uint32_t next = kUnlinked;
    std::uint32_t deadline = 0;  // relative to now_, modulo 2^32 (see relative())
  };
  static_assert(sizeof(KeyNode) == 12, "a key costs 12 bytes");

  // Keys 0..capacity-1 need no allocation; arming a key beyond them grows the wheel.
  // The wheel's present starts at tick `start`.
  explicit DeadlineWheel(std::size_t capacity = 0, Tick start = 0);
  // Keys 0..capacity-1 live in `keys`, which outlives the wheel, starts as KeyNode{} or
  // zero bytes (a fresh anonymous mapping will do) and is never grown: arming a key
  // beyond it is a precondition violation.
  DeadlineWheel(KeyNode* keys, std::size_t capacity, Tick start = 0);

  DeadlineWheel(DeadlineWheel&& other) noexcept;
  DeadlineWheel& operator=(DeadlineWheel&& other) noexcept;
  DeadlineWheel(const DeadlineWheel&) = delete;
  DeadlineWheel& operator=(const DeadlineWheel&) = delete;
  ~DeadlineWheel() = default;

  // Makes room for keys 0..capacity-1 (the only place the wheel allocates); with storage
  // from the caller, does nothing.
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
    keys_[key].deadline = relative(clamp(deadline));
  }
  void cancel(Key key);

  bool armed(Key key) const { return key < capacity_ && keys_[key].prev != kUnlinked; }
  // Precondition: armed(key).
  Tick deadline(Key key) const { return absolute(keys_[key].deadline); }
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
  // Circular doubly linked lists: each slot's list head is a node too, so a key can be
  // unlinked without knowing which slot it is in. Nodes below kSentinels are the heads
  // (the wheel's own), the others keys_[node - kSentinels].
  KeyNode& node(std::uint32_t index) {
    return index < kSentinels ? heads_[index] : keys_[index - kSentinels];
  }
  const KeyNode& node(std::uint32_t index) const {
    return index < kSentinels ? heads_[index] : keys_[index - kSentinels];
  }

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
  bool list_empty(std::uint32_t list) const { return heads_[list].next == list; }
  std::optional<DueSlot> next_slot() const;
  // Keys armed in the past by advance()'s callbacks stay due; their deadlines become
  // `now`, so that they read back right however far the present then jumps.
  void keep_due_readable(Tick now);
  // Expires or re-files what `kExpiring` holds; returns how many expired.
  template <class Expire>
  std::size_t drain_expiring(Expire& expire);

  std::vector<KeyNode> heads_;
  std::vector<KeyNode> own_keys_;  // empty when the caller gives the storage
  KeyNode* keys_ = nullptr;
  bool keys_given_ = false;
  std::size_t capacity_ = 0;
  std::size_t size_ = 0;
  Tick now_;
  std::uint64_t occupied_[kLevels] = {};
};

template <class Expire>
std::size_t DeadlineWheel::drain_expiring(Expire& expire) {
  std::size_t expired = 0;
  while (!list_empty(kExpiring)) {
    const std::uint32_t index = heads_[kExpiring].next;
    const Tick deadline = absolute(node(index).deadline);
    unlink(index);
    if (deadline <= now_) {
      --size_;
      ++expired;
      expire(static_cast<Key>(index - kSentinels));
    } else {
      file(index, deadline);  // a cascade down a level, or a postponed key
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
    splice(head_of(due->level, due->slot), kExpiring);
    expired += drain_expiring(expire);
  }
  keep_due_readable(now);
  now_ = now;
  return expired;
}

}  // namespace tcpka
