// pkio-gen's frames, pacing and receive-side bookkeeping, without an EAL: every layout keeps
// correct checksums through stamps, field rewrites and size changes; pacers give the rates
// and shapes asked for; the flow tracker tells loss, reordering and duplicates apart.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "frames.h"
#include "restamp.h"
#include "pacer.h"
#include "receiver.h"

namespace pkio::gen {
namespace {

const IpVersion versions[] = {IpVersion::v4, IpVersion::v6};
const Transport transports[] = {Transport::udp, Transport::tcp_syn};

std::vector<uint8_t> built(const StreamSpec& s, uint32_t size, uint32_t capacity = 0) {
  std::vector<uint8_t> f(std::max(size, capacity));
  build_frame(f.data(), size, layout_of(s.ip, s.transport), first_values(s));
  return f;
}

/// A stream of one layout with its version's default addresses.
StreamSpec stream_of(IpVersion v, Transport t) {
  StreamSpec s;
  s.ip = v;
  s.transport = t;
  s.set_default_addresses(v);
  return s;
}

TEST(GenFrames, EveryLayoutBuildsWithCorrectChecksums) {
  for (IpVersion v : versions) {
    for (Transport t : transports) {
      const StreamSpec s = stream_of(v, t);
      const FrameLayout l = layout_of(v, t);
      for (uint32_t size : {std::max(60u, l.headers()), l.stamped(), l.stamped() + 1, 1514u}) {
        auto f = built(s, size);
        const FrameInfo info = inspect_frame(f.data(), size);
        EXPECT_TRUE(info.checksums_ok) << to_text(v) << "/" << to_text(t) << " " << size;
        EXPECT_FALSE(info.ours);  // no stamp yet
      }
    }
  }
}

TEST(GenFrames, StampsFieldRewritesAndResizesKeepChecksumsCorrect) {
  std::mt19937_64 rng(7);
  for (IpVersion v : versions) {
    for (Transport t : transports) {
      const StreamSpec s = stream_of(v, t);
      const FrameLayout l = layout_of(v, t);
      const uint32_t largest = 1514;
      uint32_t size = l.stamped();
      auto f = built(s, size, largest);
      bool stamped = false;
      for (int step = 0; step < 2000; ++step) {
        const uint32_t next = std::max(60u, l.headers()) + static_cast<uint32_t>(rng() % (largest - std::max(60u, l.headers()) + 1));
        if (stamped && next < l.stamped()) {
          clear_stamp(f.data(), l);
          stamped = false;
        }
        resize_frame(f.data(), l, size, next);
        size = next;
        uint8_t value[16];
        for (auto& b : value) b = static_cast<uint8_t>(rng());
        const uint32_t ip_src = v == IpVersion::v4 ? 26 : 22;
        rewrite(f.data(), l, ip_src, value, v == IpVersion::v4 ? 4 : 16);
        rewrite(f.data(), l, 6, value, 6);       // source MAC: under no checksum
        rewrite(f.data(), l, l.l4 + 2, value, 2); // destination port
        const uint64_t seq = rng(), ts = rng() & timestamp_mask;
        if (size >= l.stamped()) {
          stamp_frame(f.data(), l, seq, ts);
          stamped = true;
        }
        const FrameInfo info = inspect_frame(f.data(), size);
        ASSERT_TRUE(info.checksums_ok) << to_text(v) << "/" << to_text(t) << " step " << step << " size " << size;
        ASSERT_EQ(info.ours, stamped);
        if (stamped) {
          EXPECT_EQ(info.sequence, seq);
          EXPECT_EQ(info.timestamp, ts);
        }
        // A frame built from scratch at this size with these values must be byte-identical.
        std::vector<uint8_t> fresh(size);
        HeaderValues hv = first_values(s);
        std::memcpy(hv.src_ip, value, 16);
        std::memcpy(hv.src_mac, value, 6);
        hv.dst_port = static_cast<uint16_t>(value[0] << 8 | value[1]);
        build_frame(fresh.data(), size, l, hv);
        if (stamped) stamp_frame(fresh.data(), l, seq, ts);
        ASSERT_EQ(0, std::memcmp(fresh.data(), f.data(), size)) << "step " << step;
      }
    }
  }
}

TEST(GenFrames, InspectionReadsTagsAndCatchesCorruption) {
  StreamSpec s;
  auto f = built(s, 128);
  stamp_frame(f.data(), layout_of(s.ip, s.transport), 42, 43);
  // Insert an 802.1Q tag as the miniport does: after the MAC addresses.
  std::vector<uint8_t> tagged(f.begin(), f.begin() + 12);
  for (uint8_t b : {0x81, 0x00, 0xA0, 0x64}) tagged.push_back(b);
  tagged.insert(tagged.end(), f.begin() + 12, f.end());
  FrameInfo info = inspect_frame(tagged.data(), static_cast<uint32_t>(tagged.size()));
  EXPECT_TRUE(info.tagged);
  EXPECT_EQ(info.vlan_tci, 0xA064);
  EXPECT_TRUE(info.checksums_ok);
  EXPECT_EQ(info.sequence, 42u);
  // The fast path that never reads the frame keeps the checksum right too.
  const FrameLayout l = layout_of(s.ip, s.transport);
  const uint16_t unstamped = unstamped_sum(transport_checksum(f.data(), l), 42, 43);
  uint64_t seq = 42, ts = 43;
  for (uint64_t k = 1; k < 1000; ++k) {
    // The generator passes raw cycle counts: bits above the 48 stamped must not matter.
    ts = ((ts + k * 1000003) & timestamp_mask) | (k % 3 == 0 ? k << 49 : 0);
    seq = seq * 7919 + k;
    const uint16_t written = restamp_frame(f.data(), l, unstamped, seq, ts);
    ASSERT_EQ(written, transport_checksum(f.data(), l));
    info = inspect_frame(f.data(), 128);
    ASSERT_TRUE(info.checksums_ok) << k;
    ASSERT_EQ(info.sequence, seq);
    ASSERT_EQ(info.timestamp, ts & timestamp_mask);
  }
  f[100] ^= 0x01;
  EXPECT_FALSE(inspect_frame(f.data(), 128).checksums_ok);
  EXPECT_FALSE(inspect_frame(f.data(), 20).ours);  // cut short: nothing read past the end
}

TEST(GenPacer, ConstantRateGivesThePacketsTheTimeAllows) {
  Pacer p(Pacing{}, 1e6, 1e9, 0, 1);  // 1 Mpps on a 1 GHz clock: one per 1000 cycles
  uint64_t sent = 0;
  for (uint64_t now = 0; now < 10'000'000; now += 777) sent += p.due(now, 32);
  EXPECT_NEAR(static_cast<double>(sent), 10000, 2);
  EXPECT_EQ(p.due(10'000'000, 5), 1u);
  p.give_back(3);  // could not send three of them: they stay due
  EXPECT_EQ(p.due(10'000'000, 5), 3u);
}

TEST(GenPacer, BurstsComeBackToBackThenWait) {
  Pacing burst{PacingMode::burst, 8};
  Pacer p(burst, 1e6, 1e9, 0, 1);
  EXPECT_EQ(p.due(0, 100), 8u);      // a whole burst at once
  EXPECT_EQ(p.due(7999, 100), 0u);   // then the gap of eight packets
  EXPECT_EQ(p.due(8000, 100), 8u);
}

TEST(GenPacer, PoissonGapsHaveTheMeanAndSpreadOfAnExponential) {
  Pacing poisson{PacingMode::poisson, 1};
  Pacer p(poisson, 1e6, 1e9, 0, 99);
  std::vector<uint64_t> per_window;  // arrivals per 10 us window: Poisson with mean 10
  for (uint64_t t = 10'000; t <= 100'000'000; t += 10'000) per_window.push_back(p.due(t, 1000));
  double mean = 0, var = 0;
  for (auto n : per_window) mean += static_cast<double>(n);
  mean /= static_cast<double>(per_window.size());
  for (auto n : per_window) var += (static_cast<double>(n) - mean) * (static_cast<double>(n) - mean);
  var /= static_cast<double>(per_window.size());
  EXPECT_NEAR(mean, 10, 0.2);
  EXPECT_NEAR(var, 10, 1.0);  // a constant pacer would give variance ~0
}

TEST(GenPacer, TraceGapsAreFollowed) {
  Pacer p(std::vector<double>{100, 300, 50}, 0);
  EXPECT_EQ(p.due(0, 10), 1u);
  EXPECT_EQ(p.due(99, 10), 0u);
  EXPECT_EQ(p.due(100, 10), 1u);
  EXPECT_EQ(p.due(400, 10), 1u);
  EXPECT_EQ(p.due(450, 10), 1u);  // wrapped to the first gap
}

TEST(GenFlowTracker, TellsLossReorderingAndDuplicatesApart) {
  FlowTracker t;
  for (uint64_t s : {0, 1, 2, 4, 5, 3, 5, 7, 6, 6, 9}) t.record(s);
  EXPECT_EQ(t.received, 11u);
  EXPECT_EQ(t.duplicates, 2u);  // 5 and 6 twice
  EXPECT_EQ(t.reordered, 2u);   // 3 after 5, 6 after 7
  EXPECT_EQ(t.unique(), 9u);    // 8 was lost
  FlowTracker far;
  far.record(0);
  far.record(FlowTracker::window * 3);  // a long gap forgets the window
  far.record(FlowTracker::window * 3 - 1);
  EXPECT_EQ(far.duplicates, 0u);
  EXPECT_EQ(far.reordered, 1u);
}

}  // namespace
}  // namespace pkio::gen
