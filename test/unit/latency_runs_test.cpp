// LatencyRuns: recording runs of equal submit times gives the histogram per-packet records give.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include <pkio/latency_histogram.h>

namespace pkio {
namespace {

TEST(LatencyRuns, RunsRecordWhatOneRecordPerPacketRecords) {
  const uint64_t now = 1'000'000;
  // Runs of equal submit times (one send_packets call each), a repeat after a change, and
  // values in different buckets.
  const std::vector<uint64_t> submits = {10, 10, 10, 500, 500, 10, 999'000, 999'000, 0, 0, 0, 0, 999'999};
  LatencyHistogram per_packet, by_runs;
  for (uint64_t s : submits) per_packet.record(now - s);
  {
    LatencyRuns runs(by_runs, now);
    for (uint64_t s : submits) runs.add(s);
  }  // the destructor records the last run
  ASSERT_EQ(by_runs.count(), submits.size());
  for (double f : {0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0})
    EXPECT_EQ(by_runs.percentile(f), per_packet.percentile(f)) << "fraction " << f;
}

TEST(LatencyRuns, FlushRecordsAtOnceAndNothingTwice) {
  LatencyHistogram h;
  LatencyRuns runs(h, 100);
  runs.add(40);
  runs.add(40);
  EXPECT_EQ(h.count(), 0u);  // still a run
  runs.flush();
  EXPECT_EQ(h.count(), 2u);
  runs.flush();
  EXPECT_EQ(h.count(), 2u);
  EXPECT_EQ(h.max(), 60u);
  EXPECT_EQ(h.percentile(0.5), 60u);  // its bucket's midpoint is above the maximum, 60
}

TEST(LatencyHistogram, NoPercentileExceedsTheExactMaximum) {
  // 63054 lies in the lower half of its bucket: the bucket's midpoint is above it, and a p99
  // printed above the maximum beside it would contradict it.
  LatencyHistogram h;
  for (int i = 0; i < 100; ++i) h.record(1000);
  h.record(63054);
  const unsigned top = LatencyHistogram::bucket_of(63054);
  ASSERT_GT(LatencyHistogram::bucket_low(top) + (LatencyHistogram::bucket_low(top + 1) - LatencyHistogram::bucket_low(top)) / 2,
            63054u);
  EXPECT_EQ(h.max(), 63054u);
  EXPECT_EQ(h.percentile(0.999), 63054u);
  EXPECT_EQ(h.percentile(1.0), 63054u);
  EXPECT_LE(h.percentile(0.5), h.max());
}

}  // namespace
}  // namespace pkio
