// pkio-gen's per-send fast path: a stamped frame gets a new sequence number and timestamp,
// and its transport checksum is updated from the sum the sender kept without the stamp
// (RFC 1624 eqn. 3). Inline, apart from frames.cpp, because it runs once per packet sent:
// as a call into another file it cost about a tenth of the generator's rate.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

#include "frames.h"

namespace pkio::gen {

/// The one's-complement arithmetic of the stamp, shared with frames.cpp (unstamped_sum).
namespace stamp_math {

/// A 64-bit sum of machine-order words folded to 16 bits, as a big-endian delta. Two short
/// steps instead of a chain of four: 64 to 32 bits with the end-around carry, then 32 to 16
/// by adding the word to itself rotated (the high half gets both halves and their carry).
inline uint32_t fold_delta(uint64_t sum) noexcept {
  const auto low = static_cast<uint32_t>(sum);
  uint32_t s = low + static_cast<uint32_t>(sum >> 32);
  s += s < low ? 1u : 0u;  // cannot overflow again: the two halves sum to at most 2^33 - 2
  const auto native = static_cast<uint16_t>((s + std::rotr(s, 16)) >> 16);
  const auto* bytes = reinterpret_cast<const uint8_t*>(&native);  // its bytes in memory,
  return static_cast<uint32_t>(bytes[0] << 8 | bytes[1]);         // read big-endian
}

/// A big-endian 16-bit value in machine order, and back (a swap on little-endian machines).
inline uint16_t to_machine(uint16_t v) noexcept {
  if constexpr (std::endian::native == std::endian::little) return static_cast<uint16_t>(v >> 8 | v << 8);
  return v;
}

/// The machine-order sum of the stamp's changing bytes (sequence number, 48-bit timestamp)
/// as the fast path writes them; `invert` gives the sum of their complements (to take them out).
inline uint64_t stamp_words(uint64_t sequence, uint64_t timestamp, bool invert) noexcept {
  const uint32_t flip = invert ? 0xFFFFFFFFu : 0u;
  const auto w = [flip](uint64_t v, unsigned shift) { return uint64_t{static_cast<uint32_t>(v >> shift) ^ flip}; };
  const auto tail = uint64_t{static_cast<uint16_t>((timestamp >> 32) ^ flip)};  // bytes 4-5
  return (w(sequence, 0) + w(sequence, 32)) + (w(timestamp, 0) + tail);
}

}  // namespace stamp_math

/// The fast path of stamp_frame for a frame that already carries a stamp and whose sum without
/// it the caller kept (`unstamped`, from unstamped_sum): writes the new sequence number and
/// timestamp and the checksum, and never reads the frame, so a frame that left the cache
/// costs no load. Returns the new checksum.
inline uint16_t restamp_frame(uint8_t* f, const FrameLayout& l, uint16_t unstamped, uint64_t sequence,
                              uint64_t timestamp) noexcept {
  // The stamp's sum comes from the values, not from bytes built and read back (that made a
  // wide load wait for narrower stores: a store-forwarding stall), and the rest of the frame's
  // sum was kept, so the frame is only written.
  uint8_t* at = f + l.payload + 4;
  const auto timestamp_low = static_cast<uint32_t>(timestamp);
  const auto timestamp_high = static_cast<uint16_t>(timestamp >> 32);
  std::memcpy(at, &sequence, 8);
  std::memcpy(at + 8, &timestamp_low, 4);
  std::memcpy(at + 12, &timestamp_high, 2);  // the low 48 bits, as stamp_frame writes them
  // The sum is taken in machine order (RFC 1071: the one's-complement sum does not depend on
  // byte order, and every word here starts at an even offset from the transport header), so
  // the stamp's words are added as written and the checksum stored as computed: no byte is
  // assembled or swapped but the kept sum's.
  const uint64_t sum = uint64_t{stamp_math::to_machine(unstamped)} + stamp_math::stamp_words(sequence, timestamp, false);
  const auto low = static_cast<uint32_t>(sum);
  uint32_t folded = low + static_cast<uint32_t>(sum >> 32);  // sum < 2^34: one carry at most
  folded += folded < low ? 1u : 0u;
  auto machine = static_cast<uint16_t>(~((folded + std::rotr(folded, 16)) >> 16));
  if (l.transport == Transport::udp && machine == 0) machine = 0xFFFF;  // the same in either order
  std::memcpy(f + l.l4_checksum, &machine, 2);
  return stamp_math::to_machine(machine);  // big-endian, as transport_checksum reads it
}

}  // namespace pkio::gen
