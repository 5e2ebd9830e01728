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
  EXPECT_EQ(h.percentile(0.5), LatencyHistogram::bucket_low(LatencyHistogram::bucket_of(60)) +
                                   (LatencyHistogram::bucket_low(LatencyHistogram::bucket_of(60) + 1) -
                                    LatencyHistogram::bucket_low(LatencyHistogram::bucket_of(60))) / 2);
}

}  // namespace
}  // namespace pkio
