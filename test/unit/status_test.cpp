// Status codes and OIDs keep the NDIS numeric values (contract "Statuses and their codes").
#include <gtest/gtest.h>

#include <pkio/oid.h>
#include <pkio/status.h>

namespace pkio {

TEST(StatusCodes, KeepNdisNumericValues) {
  EXPECT_EQ(static_cast<uint32_t>(Status::success), 0x0u);
  EXPECT_EQ(static_cast<uint32_t>(Status::pending), 0x103u);
  EXPECT_EQ(static_cast<uint32_t>(Status::resources), 0xC000009Au);
  EXPECT_EQ(static_cast<uint32_t>(Status::failure), 0xC0000001u);
  EXPECT_EQ(static_cast<uint32_t>(Status::closing), 0xC0010002u);
  EXPECT_EQ(static_cast<uint32_t>(Status::reset_in_progress), 0xC001000Du);
  EXPECT_EQ(static_cast<uint32_t>(Status::invalid_packet), 0xC001000Fu);
  EXPECT_EQ(static_cast<uint32_t>(Status::no_cable), 0xC001001Fu);
  EXPECT_EQ(static_cast<uint32_t>(Status::invalid_data), 0xC0010015u);
  EXPECT_EQ(static_cast<uint32_t>(Indication::media_disconnect), 0x4001000Cu);
  EXPECT_EQ(static_cast<uint32_t>(Oid::maximum_send_packets), 0x00010115u);
  EXPECT_EQ(static_cast<uint32_t>(Oid::transmit_queue_length), 0x0002020Eu);
}

TEST(StatusCodes, EveryKnownStatusHasADistinctName) {
  for (unsigned i = 0; i < status_count; ++i) {
    EXPECT_NE(to_string(all_statuses[i]), "unknown");
    EXPECT_EQ(status_index(all_statuses[i]), i);
    for (unsigned j = i + 1; j < status_count; ++j)
      EXPECT_NE(to_string(all_statuses[i]), to_string(all_statuses[j]));
  }
  EXPECT_EQ(to_string(static_cast<Status>(0x12345)), "unknown");
  EXPECT_FALSE(is_known(static_cast<Status>(0x12345)));
  EXPECT_EQ(to_string(Status::no_cable), "no_cable");
}

TEST(StatusCodes, PendingAndResourcesAreNeverFinal) {
  EXPECT_FALSE(is_final_send_status(Status::pending));
  EXPECT_FALSE(is_final_send_status(Status::resources));
  EXPECT_TRUE(is_final_send_status(Status::success));
  EXPECT_TRUE(is_final_send_status(Status::no_cable));
}

}  // namespace pkio
