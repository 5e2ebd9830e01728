// pkio-ndr's search against DUTs whose capacity is known: a model (the search alone, exact),
// and a DUT thread of this test's own that forwards between two net_ring ports at a set rate
// through a bounded queue (real trials through the generator's engine).
#include <gtest/gtest.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_eth_ring.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <atomic>
#include <chrono>
#include <thread>

#include <pkio/dpdk/eal.h>
#include <pkio/dpdk/port.h>

#include "options.h"
#include "report.h"
#include "search.h"
#include "trial.h"

namespace pkio::ndr {
namespace {

/// A trial against a model: the sender offers at most `sender_pps`, the DUT forwards at most
/// `capacity_pps` and drops the rest.
Trial model_trial(double rate, double sender_pps, double capacity_pps, uint32_t index, const char* kind) {
  Trial t;
  t.index = index;
  t.kind = kind;
  t.intended_pps = rate;
  t.seconds = 1;
  t.intended = static_cast<uint64_t>(rate);
  t.offered_pps = std::min(rate, sender_pps);
  t.offered = static_cast<uint64_t>(t.offered_pps);
  t.valid = t.offered >= t.intended * 0.99;
  if (!t.valid) t.invalid_reason = "sender";
  t.received_pps = std::min(t.offered_pps, capacity_pps);
  t.received = static_cast<uint64_t>(t.received_pps);
  t.lost = t.offered - t.received;
  t.duration_s = 1;
  return t;
}

Found search_model(double max_rate, double sender, double capacity, double precision, uint32_t* trials = nullptr) {
  SearchConfig c;
  c.max_rate_pps = max_rate;
  c.precision = precision;
  Search s(c);
  uint32_t n = 0;
  for (Search::Next next = s.next(); next.rate_pps > 0; next = s.next())
    s.record(model_trial(next.rate_pps, sender, capacity, ++n, next.final ? "final" : "search"));
  if (trials) *trials = n;
  return s.ndr();
}

TEST(NdrSearch, FindsTheDutsCapacityWithinThePrecision) {
  for (double capacity : {1e4, 2.5e5, 9.7e5, 3.3e6}) {
    uint32_t trials = 0;
    const Found f = search_model(14.88e6, 20e6, capacity, 0.01, &trials);
    EXPECT_LE(f.pps, capacity) << capacity;
    EXPECT_GE(f.pps, capacity * 0.99) << capacity;
    EXPECT_EQ(f.limited_by, "dut");
    EXPECT_TRUE(f.confirmed);
    EXPECT_LT(trials, 30u) << capacity;
  }
}

TEST(NdrSearch, ASenderThatCannotOfferTheLoadBoundsTheSearchNotTheDut) {
  // The DUT could forward 10 Mpps; the sender manages 2: every trial above 2 is invalid, and
  // the result says the sender's own path was the limit.
  const Found f = search_model(14.88e6, 2e6, 10e6, 0.01);
  EXPECT_LE(f.pps, 2e6 / 0.99);  // the 1 % the model lets a sender fall short by
  EXPECT_GE(f.pps, 2e6 * 0.98);
  EXPECT_EQ(f.limited_by, "sender");
}

TEST(NdrSearch, PassingAtTheMaximumRateEndsThere) {
  const Found f = search_model(1e6, 20e6, 20e6, 0.01);
  EXPECT_EQ(f.pps, 1e6);
  EXPECT_EQ(f.limited_by, "max_rate");
}

TEST(NdrSearch, AFinalThatFailsReopensTheSearchBelowIt) {
  SearchConfig c;
  c.max_rate_pps = 1e6;
  Search s(c);
  uint32_t n = 0;
  bool failed_final = false;
  for (Search::Next next = s.next(); next.rate_pps > 0 && n < 100; next = s.next()) {
    Trial t = model_trial(next.rate_pps, 2e6, 5e5, ++n, next.final ? "final" : "search");
    if (next.final && !failed_final) {  // the first final sees loss (a DUT that only just copes)
      failed_final = true;
      t.received = t.offered - 10;
      t.lost = 10;
    }
    s.record(t);
  }
  const Found f = s.ndr();
  EXPECT_TRUE(failed_final);
  EXPECT_TRUE(f.confirmed);
  EXPECT_LE(f.pps, 5e5);
  EXPECT_GE(f.pps, 5e5 * 0.97);
}

TEST(NdrSearch, PdrIsAtLeastNdrAndAllowsItsLoss) {
  SearchConfig c;
  c.max_rate_pps = 1e6;
  c.pdr = 0.05;
  Search s(c);
  uint32_t n = 0;
  // A DUT that loses 1 % of everything above 300 kpps and drops above 600 kpps.
  for (Search::Next next = s.next(); next.rate_pps > 0; next = s.next()) {
    Trial t = model_trial(next.rate_pps, 2e6, 6e5, ++n, next.final ? "final" : "search");
    if (t.offered_pps > 3e5 && t.lost < t.offered / 100) {
      t.lost = t.offered / 100;
      t.received = t.offered - t.lost;
    }
    s.record(t);
  }
  EXPECT_LE(s.ndr().pps, 3e5);
  EXPECT_GE(s.ndr().pps, 3e5 * 0.98);
  EXPECT_GE(s.pdr().pps, 6e5 * 0.95 * 0.98);  // up to where drops pass 5 %
  EXPECT_LE(s.pdr().pps, 6e5 / 0.95);
}

/// A DUT of the test's own: takes frames from ring `in`, keeps at most `queue` of them, and
/// forwards them to ring `out` at `rate_pps`; drops what does not fit.
struct RingDut {
  rte_ring* in = nullptr;
  rte_ring* out = nullptr;
  double rate_pps = 0;
  unsigned queue = 0;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> dropped{0};
  void run() {
    std::vector<rte_mbuf*> held;
    held.reserve(queue);
    const double hz = static_cast<double>(rte_get_tsc_hz());
    const uint64_t start = rte_rdtsc();
    double credit_at = 0;  // packets the rate allows since start
    uint64_t forwarded = 0;
    rte_mbuf* got[64];
    while (!stop.load(std::memory_order_relaxed)) {
      const unsigned n = rte_ring_sc_dequeue_burst(in, reinterpret_cast<void**>(got), 64, nullptr);
      for (unsigned i = 0; i < n; ++i) {
        if (held.size() < queue) held.push_back(got[i]);
        else {
          rte_pktmbuf_free(got[i]);
          dropped.fetch_add(1, std::memory_order_relaxed);
        }
      }
      credit_at = static_cast<double>(rte_rdtsc() - start) / hz * rate_pps;
      // An idle DUT does not bank credit beyond one frame: the rate is a rate, not a burst.
      if (held.empty() && credit_at > static_cast<double>(forwarded) + 1) forwarded = static_cast<uint64_t>(credit_at) - 1;
      size_t k = 0;
      while (k < held.size() && static_cast<double>(forwarded) < credit_at) {
        if (rte_ring_sp_enqueue(out, held[k]) != 0) rte_pktmbuf_free(held[k]);
        ++k;
        ++forwarded;
      }
      held.erase(held.begin(), held.begin() + static_cast<long>(k));
      // It shares the machine with the sender and the receiver: it sleeps rather than spins
      // (a sleep of ~60 us forwards the credit of that time in one go, as a NIC's burst would).
      if (n == 0) std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
    for (rte_mbuf* m : held) rte_pktmbuf_free(m);
  }
};

TEST(NdrRingDut, NdrLandsOnTheForwardingRateOfABoundedQueueDut) {
  ASSERT_TRUE(dpdk::eal_init({"ndr_search", "--no-huge", "--no-shconf", "-m", "256", "--no-pci", "-l", "0-1"}).has_value());
  rte_ring* a_rx = rte_ring_create("ndr_a_rx", 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  rte_ring* a_tx = rte_ring_create("ndr_a_tx", 4096, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  rte_ring* b_rx = rte_ring_create("ndr_b_rx", 4096, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  rte_ring* b_tx = rte_ring_create("ndr_b_tx", 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  const int a = rte_eth_from_rings("ndr_dut_in", &a_rx, 1, &a_tx, 1, 0);
  const int b = rte_eth_from_rings("ndr_dut_out", &b_rx, 1, &b_tx, 1, 0);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  dpdk::PortConfig pc;
  pc.mbufs = 16383;
  auto tx = dpdk::Port::open(static_cast<uint16_t>(a), pc);
  auto rx = dpdk::Port::open(static_cast<uint16_t>(b), pc);
  ASSERT_TRUE(tx.has_value()) << tx.error().message;
  ASSERT_TRUE(rx.has_value()) << rx.error().message;

  RingDut dut;
  dut.in = a_tx;
  dut.out = b_rx;
  // The queue is deep enough to ride out the scheduler taking the DUT's core for a few ms.
  dut.rate_pps = 100e3;
  dut.queue = 1024;
  std::thread dut_thread([&] { dut.run(); });

  int code = 0;
  std::string error, help;
  auto traffic = gen::parse_options({"--quiet", "--size", "128"}, code, error, help);
  ASSERT_TRUE(traffic.has_value()) << error;
  SearchConfig c;
  c.max_rate_pps = 2e6;
  c.precision = 0.02;
  c.max_trials = 40;
  Search s(c);
  TrialPorts ports{tx->get(), rx->get()};
  uint32_t n = 0;
  std::vector<Trial> trials;
  for (Search::Next next = s.next(); next.rate_pps > 0; next = s.next()) {
    Trial t;
    t.index = ++n;
    t.kind = next.final ? "final" : "search";
    ASSERT_EQ(run_trial(ports, *traffic, next.rate_pps, 0.5, n * 4, 0.01, t, error), Status::success) << error;
    s.record(t);
    std::printf("%s\n", trial_line(t).c_str());  // the search, for a failure's log
    trials.push_back(t);
  }
  dut.stop = true;
  dut_thread.join();
  const Found f = s.ndr();
  // The forwarding rate is the capacity: the NDR lies just below it (the bounded queue may
  // absorb a little more for a 0.5 s trial: 1024 frames, 2 %), and the DUT's drops bound it.
  EXPECT_GE(f.pps, 100e3 * 0.95);
  EXPECT_LE(f.pps, 100e3 * 1.05);
  EXPECT_EQ(f.limited_by, "dut");
  EXPECT_GT(dut.dropped.load(), 0u);
  for (const Trial& t : trials) {
    EXPECT_EQ(t.lost, t.offered - t.received) << t.index;
    EXPECT_EQ(t.intended, static_cast<uint64_t>(std::llround(t.intended_pps * t.seconds))) << t.index;
    if (!t.valid) {
      EXPECT_FALSE(t.invalid_reason.empty()) << t.index;
    }
    // No trial well above the capacity passes.
    if (t.intended_pps > 100e3 * 1.1 && t.valid) {
      EXPECT_GT(t.lost, 0u) << t.index;
    }
  }
  tx->reset();
  rx->reset();
}

}  // namespace
}  // namespace pkio::ndr
