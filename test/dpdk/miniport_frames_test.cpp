// Frames in the miniport's own mbufs (DpdkMiniport::allocate_frames): a packet over one goes
// as that mbuf, byte for byte and in order, completes only when its holder frees it, survives
// a consumer's clone and a reset, and falls back to a slot while its mbuf is still held.
#include <gtest/gtest.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <cstring>
#include <vector>

#include "dpdk_harness.h"

namespace pkio {
namespace {

using testing_support::DpdkHarness;
using testing_support::frame_bytes;
using testing_support::PacketFactory;
using testing_support::poll_until;
using testing_support::RingPort;
using testing_support::unique_name;

/// A packet over all `length` bytes of `frame` (or of other memory, iova 0), byte j = seed + j.
Packet* packet_on(PacketFactory& f, const dpdk::FrameMemory& frame, uint32_t length, uint8_t seed) {
  for (uint32_t j = 0; j < length; ++j) frame.address[j] = static_cast<uint8_t>(seed + j);
  Packet* p = nullptr;
  Buffer* b = nullptr;
  EXPECT_EQ(f.packets->allocate(p), Status::success);
  EXPECT_EQ(f.buffers->allocate(b, frame.address, length), Status::success);
  b->iova = frame.iova;
  EXPECT_EQ(p->chain_at_back(b), Status::success);
  return p;
}

/// Forgets the completions recorded so far (a packet sent again counts from zero).
void forget(testing_support::RecordingProtocol& proto) {
  std::lock_guard lock(proto.mutex);
  proto.completions.clear();
  proto.times_completed.clear();
}

std::vector<uint8_t> expected_bytes(uint32_t length, uint8_t seed) {
  std::vector<uint8_t> out;
  for (uint32_t j = 0; j < length; ++j) out.push_back(static_cast<uint8_t>(seed + j));
  return out;
}

struct FramesOnRing {
  RingPort ring{unique_name("ring_frames")};
  PacketFactory f{64};  // outlives the adapter, which may still hold packets
  DpdkHarness h;
  std::vector<dpdk::FrameMemory> frames;
  explicit FramesOnRing(uint32_t count, uint32_t largest = 128) {
    h.open(ring.port_id);
    auto made = h.miniport().allocate_frames(count, largest);
    EXPECT_TRUE(made.has_value()) << made.error().message;
    if (made) frames = std::move(*made);
  }
};

TEST(MiniportFrames, AreEvenlyLaidOutDmaMemoryAndCanBeMadeOnlyOnce) {
  FramesOnRing t(16, 100);
  ASSERT_EQ(t.frames.size(), 16u);
  for (size_t i = 1; i < t.frames.size(); ++i) {
    EXPECT_EQ(t.frames[i].address - t.frames[i - 1].address, t.frames[1].address - t.frames[0].address);
    EXPECT_EQ(t.frames[i].iova, rte_mem_virt2iova(t.frames[i].address));
  }
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.frames[0].address) % 64, 0u);
  EXPECT_EQ(t.h.miniport().frames_spare(), 16u);
  auto refused = t.h.miniport().allocate_frames(4, 64);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message.find("already"), std::string::npos) << refused.error().message;
}

TEST(MiniportFrames, GoAsTheirOwnMbufsInOrderAndCompleteWhenTheConsumerFrees) {
  FramesOnRing t(8);
  std::vector<Packet*> pkts;
  for (uint32_t i = 0; i < 8; ++i) pkts.push_back(packet_on(t.f, t.frames[i], 64 + i, static_cast<uint8_t>(i * 11)));
  const uint32_t slots_spare = t.h.miniport().zero_copy_slots_spare();
  send_packets(t.h.proto.binding, pkts.data(), 8);
  for (int i = 0; i < 5; ++i) t.h.adapter().poll();
  EXPECT_EQ(t.h.proto.completed(), 0u);  // the consumer holds every frame
  EXPECT_EQ(t.h.miniport().frames_spare(), 0u);
  EXPECT_EQ(t.h.miniport().zero_copy_slots_spare(), slots_spare);  // no slot was borrowed
  auto got = t.ring.take();
  ASSERT_EQ(got.size(), 8u);
  for (uint32_t i = 0; i < 8; ++i) {
    EXPECT_TRUE(RTE_MBUF_DIRECT(got[i])) << "frame " << i;  // the frame's own mbuf
    EXPECT_EQ(rte_pktmbuf_mtod(got[i], uint8_t*), t.frames[i].address);
    EXPECT_EQ(frame_bytes(got[i]), expected_bytes(64 + i, static_cast<uint8_t>(i * 11))) << "frame " << i;
  }
  for (uint32_t i = 0; i < 4; ++i) rte_pktmbuf_free(got[i]);
  ASSERT_TRUE(poll_until(t.h.adapter(), [&] { return t.h.proto.completed() == 4; }));
  for (uint32_t i = 0; i < 8; ++i) EXPECT_EQ(t.h.proto.count_of(pkts[i]), i < 4 ? 1 : 0) << "packet " << i;
  for (uint32_t i = 4; i < 8; ++i) rte_pktmbuf_free(got[i]);
  ASSERT_TRUE(poll_until(t.h.adapter(), [&] { return t.h.proto.completed() == 8; }));
  for (Packet* p : pkts) EXPECT_EQ(t.h.proto.status_of(p), Status::success);
  EXPECT_EQ(t.h.miniport().frames_spare(), 8u);
}

TEST(MiniportFrames, WarmingUpSendsNothingAndCountsNothing) {
  // warm_up, then warm_packets over a frame, a buffer of other memory, an empty packet and a
  // null entry: nothing is lent, taken or counted, and the packets then send as usual.
  FramesOnRing t(2);
  alignas(64) static uint8_t other[64];
  Packet* frame = packet_on(t.f, t.frames[0], 64, 3);
  Packet* elsewhere = packet_on(t.f, dpdk::FrameMemory{other, 0}, 64, 4);  // not a frame: a slot
  Packet* empty = nullptr;
  ASSERT_EQ(t.f.packets->allocate(empty), Status::success);
  Packet* first[] = {frame, elsewhere, empty, nullptr};
  const dpdk::MiniportStats before = t.h.miniport().stats();
  t.h.miniport().warm_up();
  t.h.miniport().warm_up();
  t.h.miniport().warm_packets(first, 4);
  EXPECT_TRUE(t.ring.take().empty());
  const dpdk::MiniportStats after = t.h.miniport().stats();
  EXPECT_EQ(after.accepted, before.accepted);
  EXPECT_EQ(after.tx_burst_calls, before.tx_burst_calls);  // not a send: counts stay the port's
  EXPECT_EQ(t.h.miniport().frames_spare(), 2u);             // the frame is not lent
  Packet* send[] = {frame, elsewhere};
  send_packets(t.h.proto.binding, send, 2);
  auto got = t.ring.take();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(frame_bytes(got[0]), expected_bytes(64, 3));
  EXPECT_EQ(frame_bytes(got[1]), expected_bytes(64, 4));
  for (rte_mbuf* m : got) rte_pktmbuf_free(m);
  ASSERT_TRUE(poll_until(t.h.adapter(), [&] { return t.h.proto.completed() == 2; }));
  EXPECT_EQ(t.h.proto.status_of(frame), Status::success);
  EXPECT_EQ(t.h.proto.status_of(elsewhere), Status::success);
  EXPECT_EQ(t.f.packets->free(empty), Status::success);
}

TEST(MiniportFrames, ABurstMixingFramesASlotAndAnInvalidPacketKeepsItsOrder) {
  // Frames lead the burst (the miniport's shortest path), then a buffer of other memory
  // (a slot), a packet too long for the port (invalid), and frames again.
  FramesOnRing t(4);
  alignas(64) static uint8_t other[64];
  for (uint32_t j = 0; j < 64; ++j) other[j] = static_cast<uint8_t>(200 + j);
  Packet* borrowing = nullptr;
  Packet* too_long = nullptr;
  Buffer* b = nullptr;
  ASSERT_EQ(t.f.packets->allocate(borrowing), Status::success);
  ASSERT_EQ(t.f.buffers->allocate(b, other, 64), Status::success);
  ASSERT_EQ(borrowing->chain_at_back(b), Status::success);
  static uint8_t huge[4000];
  ASSERT_EQ(t.f.packets->allocate(too_long), Status::success);
  ASSERT_EQ(t.f.buffers->allocate(b, huge, sizeof huge), Status::success);
  ASSERT_EQ(too_long->chain_at_back(b), Status::success);
  Packet* pkts[] = {packet_on(t.f, t.frames[0], 64, 1), packet_on(t.f, t.frames[1], 70, 2), borrowing, too_long,
                    packet_on(t.f, t.frames[2], 80, 3), packet_on(t.f, t.frames[3], 90, 4)};
  send_packets(t.h.proto.binding, pkts, 6);
  ASSERT_TRUE(poll_until(t.h.adapter(), [&] { return t.h.proto.completed() >= 1; }));
  EXPECT_EQ(t.h.proto.status_of(too_long), Status::invalid_packet);
  auto got = t.ring.take();
  ASSERT_EQ(got.size(), 5u);
  const std::vector<uint8_t> want[] = {expected_bytes(64, 1), expected_bytes(70, 2), expected_bytes(64, 200),
                                       expected_bytes(80, 3), expected_bytes(90, 4)};
  for (uint32_t i = 0; i < 5; ++i) {
    EXPECT_EQ(frame_bytes(got[i]), want[i]) << "mbuf " << i;
    EXPECT_EQ(RTE_MBUF_DIRECT(got[i]), i != 2) << "mbuf " << i;  // frames go as themselves
  }
  for (rte_mbuf* m : got) rte_pktmbuf_free(m);
  ASSERT_TRUE(poll_until(t.h.adapter(), [&] { return t.h.proto.completed() == 6; }));
  for (Packet* p : pkts) {
    EXPECT_EQ(t.h.proto.count_of(p), 1u);
    if (p != too_long) {
      EXPECT_EQ(t.h.proto.status_of(p), Status::success);
    }
  }
  EXPECT_EQ(t.h.miniport().frames_spare(), 4u);
}

TEST(MiniportFrames, AConsumersCloneKeepsTheFrameUntilItIsFreedToo) {
  FramesOnRing t(2);
  rte_mempool* clones = rte_pktmbuf_pool_create(unique_name("clones").c_str(), 7, 0, 0, 0, SOCKET_ID_ANY);
  ASSERT_NE(clones, nullptr);
  Packet* p = packet_on(t.f, t.frames[0], 80, 3);
  send_packets(t.h.proto.binding, &p, 1);
  auto got = t.ring.take();
  ASSERT_EQ(got.size(), 1u);
  rte_mbuf* clone = rte_pktmbuf_clone(got[0], clones);  // multicast-style replication
  ASSERT_NE(clone, nullptr);
  rte_pktmbuf_free(got[0]);
  for (int i = 0; i < 5; ++i) t.h.adapter().poll();
  EXPECT_EQ(t.h.proto.completed(), 0u);  // the clone still reads the frame
  EXPECT_EQ(frame_bytes(clone), expected_bytes(80, 3));
  rte_pktmbuf_free(clone);  // finds the frame's mbuf from its buffer address: it is its own
  ASSERT_TRUE(poll_until(t.h.adapter(), [&] { return t.h.proto.completed() == 1; }));
  EXPECT_EQ(rte_mempool_in_use_count(clones), 0u);
  rte_mempool_free(clones);
}

TEST(MiniportFrames, R12_AResetGivesAHeldFrameACopyAndAResendBorrowsASlotMeanwhile) {
  FramesOnRing t(2);
  Packet* p = packet_on(t.f, t.frames[0], 96, 50);
  send_packets(t.h.proto.binding, &p, 1);
  EXPECT_EQ(t.h.adapter().reset(), Status::success);
  ASSERT_EQ(t.h.proto.count_of(p), 1);  // completed by the reset, while the consumer holds it
  EXPECT_EQ(t.h.proto.status_of(p), Status::reset_in_progress);
  std::memset(t.frames[0].address, 0xEE, 96);  // the protocol writes its frame again...
  auto held = t.ring.take();
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(frame_bytes(held[0]), expected_bytes(96, 50));  // ...the holder still reads the copy
  EXPECT_TRUE(RTE_MBUF_DIRECT(held[0]));

  // Sent again while its mbuf is held: the frame borrows a slot pointed at it.
  forget(t.h.proto);
  const uint32_t slots_spare = t.h.miniport().zero_copy_slots_spare();
  send_packets(t.h.proto.binding, &p, 1);
  auto resent = t.ring.take();
  ASSERT_EQ(resent.size(), 1u);
  EXPECT_FALSE(RTE_MBUF_DIRECT(resent[0]));
  EXPECT_EQ(t.h.miniport().zero_copy_slots_spare(), slots_spare - 1);
  EXPECT_EQ(frame_bytes(resent[0]), std::vector<uint8_t>(96, 0xEE));
  rte_pktmbuf_free(resent[0]);
  ASSERT_TRUE(poll_until(t.h.adapter(), [&] { return t.h.proto.count_of(p) == 1; }));
  rte_pktmbuf_free(held[0]);
  t.h.expect_all_slots_spare();
  ASSERT_TRUE(poll_until(t.h.adapter(), [&] { return t.h.miniport().frames_spare() == 2; }));

  // Free again, the frame goes as its own mbuf once more, at its start and at its length.
  forget(t.h.proto);
  send_packets(t.h.proto.binding, &p, 1);
  auto third = t.ring.take();
  ASSERT_EQ(third.size(), 1u);
  EXPECT_TRUE(RTE_MBUF_DIRECT(third[0]));
  EXPECT_EQ(rte_pktmbuf_mtod(third[0], uint8_t*), t.frames[0].address);
  EXPECT_EQ(third[0]->buf_len, 96u);  // no room behind the frame, as before the reset
  rte_pktmbuf_free(third[0]);
  ASSERT_TRUE(poll_until(t.h.adapter(), [&] { return t.h.proto.count_of(p) == 1; }));
}

TEST(MiniportFrames, ABufferInsideAFrameOrLongerThanItBorrowsASlot) {
  FramesOnRing t(2, 64);
  Packet* inside = nullptr;
  Buffer* b = nullptr;
  ASSERT_EQ(t.f.packets->allocate(inside), Status::success);
  ASSERT_EQ(t.f.buffers->allocate(b, t.frames[0].address + 2, 62), Status::success);
  ASSERT_EQ(inside->chain_at_back(b), Status::success);
  Packet* longer = packet_on(t.f, t.frames[1], 100, 9);  // runs past the frame (64 bytes)
  Packet* pkts[] = {inside, longer};
  send_packets(t.h.proto.binding, pkts, 2);
  auto got = t.ring.take();
  ASSERT_EQ(got.size(), 2u);
  for (rte_mbuf* m : got) {
    EXPECT_FALSE(RTE_MBUF_DIRECT(m));
    rte_pktmbuf_free(m);
  }
  EXPECT_EQ(t.h.miniport().frames_spare(), 2u);
  ASSERT_TRUE(poll_until(t.h.adapter(), [&] { return t.h.proto.completed() == 2; }));
}

TEST(MiniportFrames, MillionsOnNetNullCompleteOnceAndEveryFrameIsSpareAtRest) {
  PacketFactory f(256);
  DpdkHarness h;
  auto id = dpdk::Port::find("net_null0");
  ASSERT_TRUE(id.has_value()) << id.error().message;
  h.open(*id);
  auto made = h.miniport().allocate_frames(256, 64);
  ASSERT_TRUE(made.has_value()) << made.error().message;
  const std::vector<dpdk::FrameMemory> frames = std::move(*made);
  std::vector<Packet*> free_list;
  for (const auto& frame : frames) free_list.push_back(packet_on(f, frame, 64, 1));
  h.proto.on_complete = [&](Packet* p) { free_list.push_back(p); };
  constexpr uint64_t total = 1'000'000;
  uint64_t sent = 0;
  while (sent < total) {
    const auto n = static_cast<uint32_t>(std::min<uint64_t>({32, free_list.size(), total - sent}));
    if (n == 0) {
      h.adapter().poll();
      continue;
    }
    Packet* batch[32];
    std::copy(free_list.end() - n, free_list.end(), batch);
    free_list.resize(free_list.size() - n);
    send_packets(h.proto.binding, batch, n);
    sent += n;
    forget(h.proto);  // a million records would only slow the loop
  }
  ASSERT_TRUE(poll_until(h.adapter(), [&] { return h.adapter().idle(); }));
  const auto c = h.adapter().counters();
  EXPECT_EQ(c.completed_ok, total);
  EXPECT_EQ(c.completed_error, 0u);
  EXPECT_EQ(free_list.size(), 256u);
  EXPECT_EQ(h.miniport().frames_spare(), 256u);
  h.expect_all_slots_spare();
  EXPECT_EQ(h.miniport().stats().slots_busy, 0u);
}

}  // namespace
}  // namespace pkio
