#include "tcpka/deadline_wheel.h"

namespace tcpka {

DeadlineWheel::DeadlineWheel(std::size_t capacity, Tick start) : now_(start) {
  nodes_.resize(kSentinels);
  for (std::uint32_t list = 0; list < kSentinels; ++list)
    nodes_[list].prev = nodes_[list].next = list;
  reserve(capacity);
}

void DeadlineWheel::reserve(std::size_t capacity) {
  if (capacity <= capacity_) return;
  nodes_.resize(kSentinels + capacity);
  capacity_ = capacity;
}

void DeadlineWheel::arm(Key key, Tick deadline) {
  if (key >= capacity_) reserve(std::max<std::size_t>(std::size_t{key} + 1, capacity_ * 2));
  const std::uint32_t node = kSentinels + key;
  if (nodes_[node].prev == kUnlinked) {
    ++size_;
  } else {
    unlink(node);
  }
  file(node, clamp(deadline));
}

void DeadlineWheel::cancel(Key key) {
  if (!armed(key)) return;
  unlink(kSentinels + key);
  --size_;
}

// The level is the highest 6-bit digit in which the deadline differs from the present:
// a deadline in the present's 64-tick block goes to level 0, one in its 4096-tick block
// to level 1, and so on. It moves down as the present reaches its slot.
void DeadlineWheel::file(std::uint32_t node, Tick deadline) {
  nodes_[node].deadline = relative(deadline);
  if (deadline <= now_) {
    link_last(kDue, node);
    return;
  }
  const Tick differing = (now_ ^ deadline) | (kSlots - 1);
  const int level = (63 - std::countl_zero(differing)) / kSlotBits;
  const auto slot = static_cast<std::uint32_t>(deadline >> (level * kSlotBits)) & (kSlots - 1);
  link_last(static_cast<std::uint32_t>(level) * kSlots + slot, node);
  occupied_[level] |= std::uint64_t{1} << slot;
}

void DeadlineWheel::link_last(std::uint32_t list, std::uint32_t node) {
  const std::uint32_t last = nodes_[list].prev;
  nodes_[node].prev = last;
  nodes_[node].next = list;
  nodes_[last].next = node;
  nodes_[list].prev = node;
}

void DeadlineWheel::unlink(std::uint32_t node) {
  const std::uint32_t prev = nodes_[node].prev;
  const std::uint32_t next = nodes_[node].next;
  nodes_[prev].next = next;
  nodes_[next].prev = prev;
  nodes_[node].prev = nodes_[node].next = kUnlinked;
  // The last key of a slot left it: the slot's head now points at itself.
  if (prev == next && prev < kDue) {
    occupied_[prev / kSlots] &= ~(std::uint64_t{1} << (prev % kSlots));
  }
}

void DeadlineWheel::splice(std::uint32_t from, std::uint32_t to) {
  if (list_empty(from)) return;
  const std::uint32_t first = nodes_[from].next;
  const std::uint32_t last = nodes_[from].prev;
  const std::uint32_t to_last = nodes_[to].prev;
  nodes_[to_last].next = first;
  nodes_[first].prev = to_last;
  nodes_[last].next = to;
  nodes_[to].prev = last;
  nodes_[from].prev = nodes_[from].next = from;
  if (from < kDue) occupied_[from / kSlots] &= ~(std::uint64_t{1} << (from % kSlots));
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
  for (std::uint32_t node = nodes_[kDue].next; node != kDue; node = nodes_[node].next) {
    if (absolute(nodes_[node].deadline) < now) nodes_[node].deadline = relative(now);
  }
}

}  // namespace tcpka
