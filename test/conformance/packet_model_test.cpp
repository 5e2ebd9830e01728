// Contract R31-R35: packet and buffer pools, fresh packets, chains, reinitialize.
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include <pkio/buffer_pool.h>
#include <pkio/packet_pool.h>

namespace pkio {
namespace {

struct PacketModel : testing::Test {
  std::unique_ptr<PacketPool> packets = PacketPool::create(4, 32).value();
  std::unique_ptr<BufferPool> buffers = BufferPool::create(8).value();
  std::array<std::byte, 256> memory{};

  Packet* alloc_packet() {
    Packet* p = nullptr;
    EXPECT_EQ(packets->allocate(p), Status::success);
    return p;
  }
  Buffer* alloc_buffer(uint32_t length) {
    Buffer* b = nullptr;
    EXPECT_EQ(buffers->allocate(b, memory.data(), length), Status::success);
    return b;
  }
};

TEST_F(PacketModel, R31_EmptyPoolReturnsResourcesAtOnce) {
  std::vector<Packet*> held;
  for (int i = 0; i < 4; ++i) held.push_back(alloc_packet());
  Packet* p = reinterpret_cast<Packet*>(0x1);
  EXPECT_EQ(packets->allocate(p), Status::resources);
  EXPECT_EQ(p, nullptr);
  EXPECT_EQ(packets->available(), 0u);
  EXPECT_EQ(packets->free(held.back()), Status::success);
  EXPECT_EQ(packets->allocate(p), Status::success);
  EXPECT_EQ(p, held.back());
}

TEST_F(PacketModel, R31_NeverHandsOutADescriptorInUse) {
  std::vector<Packet*> held;
  for (int i = 0; i < 4; ++i) held.push_back(alloc_packet());
  for (size_t i = 0; i < held.size(); ++i)
    for (size_t j = i + 1; j < held.size(); ++j) EXPECT_NE(held[i], held[j]);
}

TEST_F(PacketModel, R31_DoubleFreeIsDetectedAndRefused) {
  Packet* p = alloc_packet();
  EXPECT_EQ(packets->free(p), Status::success);
  EXPECT_EQ(packets->free(p), Status::failure);
  EXPECT_EQ(packets->bad_frees(), 1u);
  EXPECT_EQ(packets->available(), 4u);  // the list was not corrupted by the second free
}

TEST_F(PacketModel, R31_FreeOfForeignOrInFlightPacketIsRefused) {
  auto other = PacketPool::create(1, 0).value();
  Packet* foreign = nullptr;
  ASSERT_EQ(other->allocate(foreign), Status::success);
  EXPECT_EQ(packets->free(foreign), Status::failure);
  EXPECT_EQ(packets->free(nullptr), Status::failure);
  Packet* p = alloc_packet();
  p->tracking.state.store(PacketState::pending);  // owned by the framework
  EXPECT_EQ(packets->free(p), Status::failure);
  p->tracking.state.store(PacketState::protocol);
  EXPECT_EQ(packets->free(p), Status::success);
}

TEST_F(PacketModel, R31_CreateRejectsBadSizes) {
  const std::pair<uint32_t, uint32_t> sizes[] = {{0, 0}, {PacketPool::max_count + 1, 0}, {1, 1u << 20}};
  for (const auto& [count, reserved] : sizes) {
    auto bad = PacketPool::create(count, reserved);
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().status, Status::invalid_data);
    EXPECT_NE(bad.error().message.find(std::to_string(count > 1 ? count : reserved)), std::string::npos)
        << bad.error().message;  // says what it was asked for
  }
  EXPECT_FALSE(BufferPool::create(0).has_value());
  EXPECT_EQ(BufferPool::create(BufferPool::max_count + 1).error().status, Status::invalid_data);
  EXPECT_TRUE(PacketPool::create(1, PacketPool::max_protocol_reserved).has_value());
}

TEST_F(PacketModel, R32_FreshPacketHasEmptyChainValidCountsZeroedOob) {
  Packet* p = alloc_packet();
  // Dirty it, give it back, and take it again: everything must be fresh.
  p->oob.header_size = 14;
  p->oob.time_to_send = 77;
  p->oob.status = Status::failure;
  p->flags = packet_flag::dont_loopback;
  p->ieee8021q = Ieee8021qInfo::make(5, 100);
  ASSERT_EQ(p->chain_at_back(alloc_buffer(10)), Status::success);
  (void)p->reinitialize();
  ASSERT_EQ(packets->free(p), Status::success);
  for (int i = 0; i < 4; ++i) {
    Packet* q = alloc_packet();
    PacketCounts counts;
    EXPECT_TRUE(q->valid_counts());
    ASSERT_EQ(q->query(counts), Status::success);
    EXPECT_EQ(counts.buffer_count, 0u);
    EXPECT_EQ(counts.total_length, 0u);
    EXPECT_EQ(counts.first_buffer, nullptr);
    EXPECT_EQ(q->oob.header_size, 0u);
    EXPECT_EQ(q->oob.time_to_send, 0);
    EXPECT_EQ(q->oob.status, Status::success);
    EXPECT_EQ(q->flags, 0u);
    EXPECT_EQ(q->ieee8021q.value, 0u);
    EXPECT_EQ(q->protocol_reserved().size(), 32u);
    EXPECT_EQ(q->pool(), packets.get());
  }
}

TEST_F(PacketModel, R33_ChainFrontAndBackKeepOrderAndInvalidateCounts) {
  Packet* p = alloc_packet();
  Buffer* a = alloc_buffer(10);
  Buffer* b = alloc_buffer(20);
  Buffer* c = alloc_buffer(30);
  ASSERT_EQ(p->chain_at_back(b), Status::success);
  EXPECT_FALSE(p->valid_counts());
  ASSERT_EQ(p->chain_at_back(c), Status::success);
  ASSERT_EQ(p->chain_at_front(a), Status::success);
  PacketCounts counts;
  ASSERT_EQ(p->query(counts), Status::success);
  EXPECT_TRUE(p->valid_counts());
  EXPECT_EQ(counts.buffer_count, 3u);
  EXPECT_EQ(counts.total_length, 60u);
  EXPECT_EQ(counts.first_buffer, a);
  EXPECT_EQ(a->next, b);
  EXPECT_EQ(b->next, c);
  EXPECT_EQ(c->next, nullptr);
}

TEST_F(PacketModel, R33_AChainIsChainedInOneCall) {
  Packet* p = alloc_packet();
  Buffer* a = alloc_buffer(1);
  Buffer* b = alloc_buffer(2);
  Buffer* c = alloc_buffer(4);
  Buffer* d = alloc_buffer(8);
  a->next = b;  // a protocol-built chain a-b
  c->next = d;  // and c-d
  ASSERT_EQ(p->chain_at_back(c), Status::success);
  ASSERT_EQ(p->chain_at_front(a), Status::success);
  EXPECT_EQ(p->total_length(), 15u);
  // The back of the packet is d, so unchaining at the back must yield d, then c.
  EXPECT_EQ(p->unchain_at_back(), d);
  EXPECT_EQ(p->unchain_at_back(), c);
  EXPECT_EQ(p->total_length(), 3u);
}

TEST_F(PacketModel, R33_UnchainingAnEmptyPacketYieldsNull) {
  Packet* p = alloc_packet();
  EXPECT_EQ(p->unchain_at_front(), nullptr);
  EXPECT_EQ(p->unchain_at_back(), nullptr);
  EXPECT_TRUE(p->valid_counts());
}

TEST_F(PacketModel, R33_UnchainingTheLastBufferLeavesAnEmptyPacket) {
  Packet* p = alloc_packet();
  Buffer* a = alloc_buffer(10);
  ASSERT_EQ(p->chain_at_front(a), Status::success);
  EXPECT_EQ(p->unchain_at_front(), a);
  EXPECT_EQ(a->next, nullptr);
  EXPECT_EQ(p->first_buffer(), nullptr);
  EXPECT_EQ(p->total_length(), 0u);
  EXPECT_EQ(p->unchain_at_back(), nullptr);
  ASSERT_EQ(p->chain_at_back(a), Status::success);  // the tail was reset too
  EXPECT_EQ(p->unchain_at_back(), a);
  EXPECT_EQ(p->first_buffer(), nullptr);
}

TEST_F(PacketModel, R33_QueryRecomputesAfterEveryChange) {
  Packet* p = alloc_packet();
  Buffer* a = alloc_buffer(10);
  Buffer* b = alloc_buffer(20);
  ASSERT_EQ(p->chain_at_back(a), Status::success);
  EXPECT_EQ(p->total_length(), 10u);
  ASSERT_EQ(p->chain_at_back(b), Status::success);
  EXPECT_EQ(p->total_length(), 30u);
  (void)p->unchain_at_front();
  EXPECT_EQ(p->total_length(), 20u);
}

TEST_F(PacketModel, R33_CycleInAChainIsAnErrorNotAHang) {
  Packet* p = alloc_packet();
  Buffer* a = alloc_buffer(1);
  Buffer* b = alloc_buffer(1);
  Buffer* c = alloc_buffer(1);
  a->next = b;
  b->next = c;
  c->next = a;  // a-b-c-a
  EXPECT_EQ(p->chain_at_back(a), Status::invalid_packet);
  EXPECT_EQ(p->first_buffer(), nullptr);  // nothing changed
  c->next = nullptr;
  ASSERT_EQ(p->chain_at_back(a), Status::success);
  c->next = b;  // corrupted after chaining: query must notice
  PacketCounts counts;
  EXPECT_EQ(p->query(counts), Status::invalid_packet);
  EXPECT_EQ(p->total_length(), 0u);
  c->next = c;  // self loop
  EXPECT_EQ(p->query(counts), Status::invalid_packet);
}

TEST_F(PacketModel, R33_NullChainIsRejected) {
  Packet* p = alloc_packet();
  EXPECT_EQ(p->chain_at_front(nullptr), Status::invalid_packet);
  EXPECT_EQ(p->chain_at_back(nullptr), Status::invalid_packet);
}

TEST_F(PacketModel, R34_ReinitializeResetsOnlyChainHeadAndValidFlagAndReturnsTheChain) {
  Packet* p = alloc_packet();
  Buffer* a = alloc_buffer(10);
  Buffer* b = alloc_buffer(20);
  ASSERT_EQ(p->chain_at_back(a), Status::success);
  ASSERT_EQ(p->chain_at_back(b), Status::success);
  p->oob.header_size = 14;
  p->flags = packet_flag::loopback_only;
  p->ieee8021q = Ieee8021qInfo::make(3, 7);
  p->protocol_reserved()[0] = std::byte{0xAB};
  EXPECT_EQ(p->total_length(), 30u);
  Buffer* chain = p->reinitialize();
  EXPECT_EQ(chain, a);
  EXPECT_EQ(a->next, b);  // the buffers are still linked: nothing was lost
  EXPECT_EQ(p->first_buffer(), nullptr);
  EXPECT_FALSE(p->valid_counts());
  EXPECT_EQ(p->total_length(), 0u);
  EXPECT_EQ(p->oob.header_size, 14u);  // untouched
  EXPECT_EQ(p->flags, packet_flag::loopback_only);
  EXPECT_EQ(p->ieee8021q.vlan_id(), 7u);
  EXPECT_EQ(p->protocol_reserved()[0], std::byte{0xAB});
}

TEST_F(PacketModel, R35_EmptyBufferPoolFailsWithFailureNeverResources) {
  std::vector<Buffer*> held;
  for (int i = 0; i < 8; ++i) held.push_back(alloc_buffer(1));
  Buffer* b = nullptr;
  EXPECT_EQ(buffers->allocate(b, memory.data(), 1), Status::failure);
  EXPECT_EQ(b, nullptr);
  EXPECT_EQ(buffers->free(held[0]), Status::success);
  EXPECT_EQ(buffers->free(held[0]), Status::failure);  // double free detected
  EXPECT_EQ(buffers->bad_frees(), 1u);
  EXPECT_EQ(buffers->allocate(b, memory.data() + 8, 5), Status::success);
  EXPECT_EQ(b->address, memory.data() + 8);
  EXPECT_EQ(b->length, 5u);
  EXPECT_EQ(b->next, nullptr);
  Buffer outside;
  EXPECT_EQ(buffers->free(&outside), Status::failure);
}

TEST_F(PacketModel, R35_ABufferOverNoMemoryIsRefusedWhereItIsMade) {
  const uint32_t spare = buffers->available();
  Buffer* b = reinterpret_cast<Buffer*>(uintptr_t{1});
  EXPECT_EQ(buffers->allocate(b, nullptr, 64), Status::invalid_data);
  EXPECT_EQ(b, nullptr);
  auto* near_the_end = reinterpret_cast<void*>(UINTPTR_MAX - 15);
  EXPECT_EQ(buffers->allocate(b, near_the_end, 16), Status::invalid_data);  // wraps past the end
  EXPECT_EQ(buffers->allocate(b, near_the_end, 0xFFFFFFFFu), Status::invalid_data);
  EXPECT_EQ(buffers->available(), spare);  // no descriptor was taken
  ASSERT_EQ(buffers->allocate(b, nullptr, 0), Status::success);  // an empty buffer maps nothing: fine
  EXPECT_EQ(buffers->free(b), Status::success);
  ASSERT_EQ(buffers->allocate(b, near_the_end, 15), Status::success);  // up to the last byte
  EXPECT_EQ(buffers->free(b), Status::success);
}

TEST_F(PacketModel, R10_AChainWithABufferOverNoMemoryIsInvalid) {
  Packet* p = alloc_packet();
  Buffer own;  // a descriptor of the protocol's own, not from a pool
  own.address = nullptr;
  own.length = 64;
  EXPECT_EQ(p->chain_at_back(&own), Status::invalid_packet);
  EXPECT_EQ(p->first_buffer(), nullptr);  // nothing changed
  Buffer* good = alloc_buffer(32);
  ASSERT_EQ(p->chain_at_back(good), Status::success);
  own.address = memory.data();
  ASSERT_EQ(p->chain_at_back(&own), Status::success);
  own.address = nullptr;  // broken behind the chain functions' back, before a query
  PacketCounts counts;
  EXPECT_EQ(p->query(counts), Status::invalid_packet);
  EXPECT_EQ(p->total_length(), 0u);
}

TEST(Ieee8021q, PacksPriorityAndVlanAndChecksReservedBits) {
  const auto info = Ieee8021qInfo::make(6, 0xABC);
  EXPECT_EQ(info.priority(), 6u);
  EXPECT_EQ(info.vlan_id(), 0xABCu);
  EXPECT_TRUE(info.is_valid());
  EXPECT_TRUE(info.wants_tag());
  EXPECT_FALSE(Ieee8021qInfo{0x8}.is_valid());        // CFI bit
  EXPECT_FALSE(Ieee8021qInfo{0x10000}.is_valid());    // reserved high bits
  EXPECT_FALSE(Ieee8021qInfo{}.wants_tag());
}

}  // namespace
}  // namespace pkio
