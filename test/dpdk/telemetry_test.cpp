// DPDK telemetry: the names an adapter is published under (the /pkio/* commands read them).
#include <pkio/dpdk/telemetry.h>

#include "dpdk_harness.h"

namespace pkio {
namespace {

TEST(Telemetry, NamesAreCheckedUniqueAndFreedWithTheEntry) {
  testing_support::FakeMiniport mp;
  auto adapter = mp.make_adapter();
  for (const char* bad : {"", "two words", "slash/name", "comma,name"}) {
    auto refused = dpdk::TelemetryEntry::publish(*adapter, bad);
    ASSERT_FALSE(refused.has_value()) << bad;
    EXPECT_NE(refused.error().message.find("telemetry name"), std::string::npos) << refused.error().message;
  }
  auto a = dpdk::TelemetryEntry::publish(*adapter, "test.q0");
  ASSERT_TRUE(a.has_value()) << a.error().message;
  auto taken = dpdk::TelemetryEntry::publish(*adapter, "test.q0");
  ASSERT_FALSE(taken.has_value());
  EXPECT_NE(taken.error().message.find("already published"), std::string::npos) << taken.error().message;
  a->reset();  // unpublished: the name is free again
  auto b = dpdk::TelemetryEntry::publish(*adapter, "test.q0");
  ASSERT_TRUE(b.has_value()) << b.error().message;
  std::vector<std::unique_ptr<dpdk::TelemetryEntry>> many;
  std::string last_error;
  for (unsigned i = 0; i < 64; ++i) {
    auto e = dpdk::TelemetryEntry::publish(*adapter, "many." + std::to_string(i));
    if (e) many.push_back(std::move(*e));
    else last_error = e.error().message;
  }
  EXPECT_EQ(many.size() + 1, 64u);  // with b
  EXPECT_NE(last_error.find("64 adapters"), std::string::npos) << last_error;
}

}  // namespace
}  // namespace pkio
