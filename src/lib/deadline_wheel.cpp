#include "tcpka/deadline_wheel.h"

#include <algorithm>
#include <cassert>
#include <iterator>
#include <utility>

namespace tcpka {

DeadlineWheel::DeadlineWheel(std::size_t capacity, Tick start) : heads_(kSentinels), now_(start) {
  for (std::uint32_t list = kUnlinked + 1; list < kSentinels; ++list)
    heads_[list].prev = heads_[list].next = list;
  reserve(capacity);
}

DeadlineWheel::DeadlineWheel(KeyNode* keys, std::size_t capacity, Tick start)
    : DeadlineWheel(std::size_t{0}, start) {
  keys_ = keys;
  keys_given_ = true;
  capacity_ = capacity;
}

// Every index stays valid across a move: the heads are found by index, not by address.
DeadlineWheel::DeadlineWheel(DeadlineWheel&& other) noexcept {
  *this = std::move(other);
}

DeadlineWheel& DeadlineWheel::operator=(DeadlineWheel&& other) noexcept {
  heads_ = std::move(other.heads_);
  own_keys_ = std::move(other.own_keys_);
  keys_given_ = other.keys_given_;
  keys_ = keys_given_ ? other.keys_ : own_keys_.data();
  capacity_ = other.capacity_;
  size_ = other.size_;
  now_ = other.now_;
  std::copy(std::begin(other.occupied_), std::end(other.occupied_), std::begin(occupied_));
  other.keys_ = nullptr;
  other.capacity_ = other.size_ = 0;
  return *this;
}

void DeadlineWheel::reserve(std::size_t capacity) {
  if (capacity <= capacity_ || keys_given_) return;
  // Exactly this much: a server growing its table in steps pays for what it holds.
  own_keys_.reserve(capacity);
  own_keys_.resize(capacity);
  keys_ = own_keys_.data();
  capacity_ = capacity;
}

void DeadlineWheel::arm(Key key, Tick deadline) {
  if (key >= capacity_) reserve(std::max<std::size_t>(std::size_t{key} + 1, capacity_ * 2));
  assert(key < capacity_);
  const std::uint32_t index = kSentinels + key;
  if (keys_[key].prev == kUnlinked) {
    ++size_;
  } else {
    unlink(index);
  }
  file(index, clamp(deadline));
}

void DeadlineWheel::cancel(Key key) {
  if (!armed(key)) return;
  unlink(kSentinels + key);
  --size_;
}

// The level is the highest 6-bit digit in which the deadline differs from the present:
// a deadline in the present's 64-tick block goes to level 0, one in its 4096-tick block
// to level 1, and so on. It moves down as the present reaches its slot.
void DeadlineWheel::file(std::uint32_t index, Tick deadline) {
  node(index).deadline = relative(deadline);
  if (deadline <= now_) {
    link_last(kDue, index);
    return;
  }
  const Tick differing = (now_ ^ deadline) | (kSlots - 1);
  const int level = (63 - std::countl_zero(differing)) / kSlotBits;
  const auto slot = static_cast<std::uint32_t>(deadline >> (level * kSlotBits)) & (kSlots - 1);
  link_last(head_of(level, slot), index);
  occupied_[level] |= std::uint64_t{1} << slot;
}

void DeadlineWheel::link_last(std::uint32_t list, std::uint32_t index) {
  const std::uint32_t last = heads_[list].prev;
  node(index).prev = last;
  node(index).next = list;
  node(last).next = index;
  heads_[list].prev = index;
}

void DeadlineWheel::unlink(std::uint32_t index) {
  KeyNode& n = node(index);
  const std::uint32_t prev = n.prev;
  const std::uint32_t next = n.next;
  node(prev).next = next;
  node(next).prev = prev;
  n.prev = n.next = kUnlinked;
  // The last key of a slot left it: the slot's head now points at itself.
  if (prev == next && prev < kDue) {
    occupied_[(prev - 1) / kSlots] &= ~(std::uint64_t{1} << ((prev - 1) % kSlots));
  }
}

void DeadlineWheel::splice(std::uint32_t from, std::uint32_t to) {
  if (list_empty(from)) return;
  const std::uint32_t first = heads_[from].next;
  const std::uint32_t last = heads_[from].prev;
  const std::uint32_t to_last = heads_[to].prev;
  node(to_last).next = first;
  node(first).prev = to_last;
  node(last).next = to;
  heads_[to].prev = last;
  heads_[from].prev = heads_[from].next = from;
  if (from < kDue) occupied_[(from - 1) / kSlots] &= ~(std::uint64_t{1} << ((from - 1) % kSlots));
}

// Every key of level l shares the present's digits above l and differs in digit l, so
// level l's keys all come after level l-1's, and within a level the next occupied slot
// after the present's digit is the earliest. Its start is when the wheel must look.
std::optional<DeadlineWheel::DueSlot> DeadlineWheel::next_slot() const {
  for (int level = 0; level < kLevels; ++level) {
    const std::uint64_t occupied = occupied_[level];
    if (occupied == 0) continue;
    const int shift = level * kSlotBits;
    const auto present = static_cast<int>((now_ >> shift) & (kSlots - 1));
    const int ahead = std::countr_zero(std::rotr(occupied, present));
    const auto slot = static_cast<std::uint32_t>((present + ahead) % static_cast<int>(kSlots));
    const Tick level_span = Tick{1} << (shift + kSlotBits);
    const Tick level_start = now_ & ~(level_span - 1);
    return DueSlot{level, slot, level_start + (Tick{slot} << shift)};
  }
  return std::nullopt;
}

std::optional<DeadlineWheel::Tick> DeadlineWheel::next_due() const {
  if (!list_empty(kDue)) return now_;
  if (const std::optional<DueSlot> due = next_slot()) return std::max(due->start, now_);
  return std::nullopt;
}

void DeadlineWheel::keep_due_readable(Tick now) {
  for (std::uint32_t index = heads_[kDue].next; index != kDue; index = node(index).next) {
    if (absolute(node(index).deadline) < now) node(index).deadline = relative(now);
  }
}

}  // namespace tcpka
