// MbufSlots on its own: a slot lent to the "PMD" (here the test, freeing as a PMD or a ring
// consumer does) is seen released exactly when it is freed, with either release signal; a
// chain freed segment by segment is released only when its last segment is; a slot still
// held when the slots go keeps a valid copy of its frame; a frame (create_frames) is found
// from its address only at its start, within its length and while no one holds it.
#include <gtest/gtest.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <array>
#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "dpdk/mbuf_slots.h"
#include <pkio/packet_pool.h>

namespace pkio::dpdk {
namespace {

/// A port-like pool to size the slots from, and one packet to hold them for.
struct SlotsFixture {
  rte_mempool* like = nullptr;
  std::unique_ptr<PacketPool> packets = PacketPool::create(1, 0).value();
  Packet* packet = nullptr;
  std::array<uint8_t, 256> frame{};
  SlotsFixture() {
    static std::atomic<int> made{0};
    const std::string name = "slots_like_" + std::to_string(made++);
    like = rte_pktmbuf_pool_create(name.c_str(), 63, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    EXPECT_NE(like, nullptr);
    EXPECT_EQ(packets->allocate(packet), Status::success);
    for (size_t i = 0; i < frame.size(); ++i) frame[i] = static_cast<uint8_t>(i);
  }
  ~SlotsFixture() { rte_mempool_free(like); }
  void point(MbufSlots& slots, rte_mbuf* m, uint32_t at, uint32_t length) {
    slots.point(m, frame.data() + at, reinterpret_cast<uint64_t>(frame.data() + at), length);
  }
};

class MbufSlotsBySignal : public ::testing::TestWithParam<ReleaseSignal> {};

TEST_P(MbufSlotsBySignal, AFreedSlotIsReleasedAndStaysAttachedToItsFrame) {
  SlotsFixture f;
  MbufSlots slots;
  ASSERT_TRUE(slots.create(f.like, 8, GetParam()).has_value());
  // Debian's DPDK registers 14 mempool drivers; the slot driver fits in the table of 16.
  EXPECT_EQ(slots.signal(), GetParam());
  EXPECT_EQ(slots.capacity(), 8u);
  EXPECT_EQ(slots.frame_room(), rte_pktmbuf_data_room_size(f.like));
  EXPECT_EQ(rte_mempool_in_use_count(f.like), 0u);  // the slots have a pool of their own

  rte_mbuf* m[2];
  ASSERT_EQ(slots.take(m, 2), 2u);
  EXPECT_EQ(slots.spare(), 6u);
  f.point(slots, m[0], 0, 64);
  EXPECT_FALSE(slots.released(m[0]));  // lent: the PMD has it
  EXPECT_EQ(rte_pktmbuf_pkt_len(m[0]), 64u);
  EXPECT_EQ(rte_pktmbuf_mtod(m[0], uint8_t*), f.frame.data());

  rte_pktmbuf_free(m[0]);  // what a PMD does once the device is done
  EXPECT_TRUE(slots.released(m[0]));
  EXPECT_EQ(m[0]->buf_addr, f.frame.data());  // pinned: the free did not detach it
  EXPECT_EQ(m[0]->ol_flags, RTE_MBUF_F_EXTERNAL);
  slots.put_back(m, 2);  // m[1] was taken and never pointed
  EXPECT_EQ(slots.spare(), 8u);
}

TEST_P(MbufSlotsBySignal, AChainFreedSegmentBySegmentIsReleasedOnlyWithItsLastSegment) {
  SlotsFixture f;
  MbufSlots slots;
  ASSERT_TRUE(slots.create(f.like, 4, GetParam()).has_value());
  rte_mbuf* m[3];
  ASSERT_EQ(slots.take(m, 3), 3u);
  for (uint32_t i = 0; i < 3; ++i) f.point(slots, m[i], 64 * i, 64);
  m[0]->next = m[1];
  m[1]->next = m[2];
  MbufSlots::link(m[0]) = m[1];
  MbufSlots::link(m[1]) = m[2];
  m[0]->nb_segs = 3;
  m[0]->pkt_len = 192;
  slots.hold(m[0], f.packet);

  uint32_t completed = 0;
  auto complete = [&](Packet* p) {
    EXPECT_EQ(p, f.packet);
    ++completed;
  };
  // A NIC PMD frees each segment as its descriptor is done, here from another thread; the
  // head's free clears its next pointer, and the chain must still not count as released.
  std::thread([&] { rte_pktmbuf_free_seg(m[0]); }).join();
  if (GetParam() == ReleaseSignal::pool_return) {
    EXPECT_EQ(m[0]->next, nullptr);
  }
  EXPECT_EQ(slots.reap(complete), 0u);
  std::thread([&] { rte_pktmbuf_free_seg(m[2]); }).join();
  EXPECT_EQ(slots.reap(complete), 0u);
  EXPECT_EQ(completed, 0u);
  std::thread([&] { rte_pktmbuf_free_seg(m[1]); }).join();
  EXPECT_EQ(slots.reap(complete), 1u);
  EXPECT_EQ(completed, 1u);
  EXPECT_EQ(slots.held(), 0u);
  EXPECT_EQ(slots.spare(), 4u);  // every segment is spare again, unlinked
  for (rte_mbuf* s : m) EXPECT_EQ(MbufSlots::link(s), nullptr);
}

TEST_P(MbufSlotsBySignal, ASlotHeldWhenTheSlotsGoKeepsACopyOfItsFrame) {
  SlotsFixture f;
  rte_mbuf* held = nullptr;
  {
    MbufSlots slots;
      ASSERT_TRUE(slots.create(f.like, 2, GetParam()).has_value());
    ASSERT_EQ(slots.take(&held, 1), 1u);
    f.point(slots, held, 16, 100);
    slots.hold(held, f.packet);
  }  // a ring consumer still has `held`: its frame is copied into the slot's own room
  std::vector<uint8_t> expected(f.frame.begin() + 16, f.frame.begin() + 116);
  f.frame.fill(0xEE);  // the packet's memory is the protocol's again
  ASSERT_EQ(rte_pktmbuf_pkt_len(held), 100u);
  EXPECT_EQ(std::memcmp(rte_pktmbuf_mtod(held, uint8_t*), expected.data(), expected.size()), 0);
  rte_pktmbuf_free(held);  // the consumer's late free reaches a pool that still exists
}

TEST_P(MbufSlotsBySignal, AFrameIsFoundOnlyAtItsStartWithinItsLengthAndWhileNotHeld) {
  SlotsFixture f;
  MbufSlots slots;
  ASSERT_TRUE(slots.create(f.like, 4, GetParam()).has_value());
  auto made = slots.create_frames(3, 100);
  ASSERT_TRUE(made.has_value()) << made.error().message;
  const std::vector<FrameMemory> frames = std::move(*made);
  ASSERT_EQ(frames.size(), 3u);
  rte_mbuf* m = slots.frame_finder().frame_of(frames[1].address, 100);
  ASSERT_NE(m, nullptr);
  EXPECT_TRUE(slots.is_frame(m));
  EXPECT_TRUE(RTE_MBUF_DIRECT(m));
  EXPECT_EQ(m->buf_addr, frames[1].address);
  EXPECT_EQ(m->buf_iova, frames[1].iova);
  EXPECT_EQ(slots.frame_finder().frame_of(frames[1].address, 129), nullptr);   // longer than its 128 bytes
  EXPECT_EQ(slots.frame_finder().frame_of(frames[1].address + 64, 60), nullptr);  // inside a frame
  EXPECT_EQ(slots.frame_finder().frame_of(f.frame.data(), 64), nullptr);         // memory of our own
  EXPECT_EQ(slots.frame_finder().frame_of(frames[2].address + (frames[2].address - frames[1].address), 64), nullptr);  // past the last

  slots.frame_finder().lend_frame(m, 100);
  EXPECT_EQ(slots.frame_finder().frame_of(frames[1].address, 100), nullptr);  // lent: the PMD has it
  EXPECT_EQ(slots.frames_spare(), 2u);
  EXPECT_EQ(rte_pktmbuf_pkt_len(m), 100u);
  EXPECT_EQ(rte_pktmbuf_mtod(m, uint8_t*), frames[1].address);
  rte_pktmbuf_free(m);
  EXPECT_EQ(slots.frame_finder().frame_of(frames[1].address, 100), m);
  EXPECT_EQ(slots.frames_spare(), 3u);
  EXPECT_EQ(slots.spare(), 4u);  // a frame never joins the spare slots
}

INSTANTIATE_TEST_SUITE_P(Signals, MbufSlotsBySignal,
                         ::testing::Values(ReleaseSignal::pool_return, ReleaseSignal::reference_count),
                         [](const ::testing::TestParamInfo<ReleaseSignal>& p) {
                           return p.param == ReleaseSignal::pool_return ? std::string("PoolReturn")
                                                                        : std::string("ReferenceCount");
                         });

}  // namespace
}  // namespace pkio::dpdk
