// Packet layout: the fields both the submitting thread and the adapter's worker write share
// one cache line, apart from the ones only read on the send path (see Packet's layout note).
#include <gtest/gtest.h>

#include <cstdint>

#include <pkio/packet_pool.h>

namespace pkio {
namespace {

uintptr_t line_of(const void* field) { return reinterpret_cast<uintptr_t>(field) / 64; }

TEST(PacketLayout, StatusAndHotTrackingShareOneCacheLine) {
  auto pool = PacketPool::create(2, 16).value();
  Packet* p = nullptr;
  ASSERT_EQ(pool->allocate(p), Status::success);
  const uintptr_t hot = line_of(&p->oob.status);
  EXPECT_EQ(line_of(&p->tracking.state), hot);
  EXPECT_EQ(line_of(&p->tracking.final_status), hot);
  EXPECT_EQ(line_of(&p->tracking.next), hot);
  EXPECT_EQ(line_of(&p->tracking.binding), hot);
  EXPECT_EQ(line_of(&p->tracking.adapter), hot);
  EXPECT_EQ(line_of(reinterpret_cast<const char*>(&p->tracking.submit_cycles) + 7), hot);
  pool->free(p);
}

TEST(PacketLayout, FieldsReadOnTheSendPathStayOffTheWrittenLine) {
  auto pool = PacketPool::create(2, 16).value();
  Packet* p = nullptr;
  ASSERT_EQ(pool->allocate(p), Status::success);
  const uintptr_t hot = line_of(&p->oob.status);
  EXPECT_NE(line_of(&p->flags), hot);
  EXPECT_NE(line_of(&p->ieee8021q), hot);
  pool->free(p);
}

}  // namespace
}  // namespace pkio
