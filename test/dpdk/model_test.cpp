// The contract model (../conformance/contract_model.h) against the DPDK miniport on a real
// net_ring port of 64 slots, so a burst meets a full ring (resources, requeues) as often as
// not: serialized and deserialized, run-to-completion and poll-driven, with and without the
// verifier, 1 to 32 packets per miniport call. The test is the ring's consumer: it frees
// frames at random (the device completing them), links go down and up through the PMD, and
// resets stop and start the port under whatever is in flight.
#include <rte_ethdev.h>

#include <chrono>

#include "../conformance/contract_model.h"
#include "dpdk_harness.h"

namespace pkio {
namespace {

using testing_support::ModelDevice;
using testing_support::ModelRun;
using testing_support::RingPort;

class RingDevice : public ModelDevice {
 public:
  RingDevice(RingPort& ring, Adapter& adapter) : ring_(ring), adapter_(adapter) {}
  void complete_some(std::mt19937_64& rng) override {
    free_frames(static_cast<unsigned>(rng() % (rte_ring_count(ring_.tx) + 1)));
  }
  void settle() override { free_frames(4096); }
  void set_link(bool up) override {
    if (up) rte_eth_dev_set_link_up(ring_.port_id);
    else rte_eth_dev_set_link_down(ring_.port_id);
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (adapter_.media_connected() != up && std::chrono::steady_clock::now() < end) adapter_.poll();
    EXPECT_EQ(adapter_.media_connected(), up) << "the link change never reached the adapter";
  }
  void after_reset(bool link_up) override {
    if (!link_up) set_link(false);  // stopping and starting a net_ring port brings its link up
  }
  std::set<Status> device_statuses() const override { return {Status::success}; }
  void free_frames(unsigned n) {
    for (rte_mbuf* m : ring_.take(n)) rte_pktmbuf_free(m);
  }

 private:
  RingPort& ring_;
  Adapter& adapter_;
};

void run_seed(RingPort& ring, uint64_t seed) {
  std::mt19937_64 pick(seed);
  dpdk::StackConfig config;
  config.port = std::to_string(ring.port_id);
  config.port_config.mbufs = 1023;
  dpdk::MiniportConfig& mc = config.miniport;
  mc.maximum_send_packets = 1 + static_cast<uint32_t>(pick() % 32);
  mc.deserialized = pick() % 3 == 0;
  mc.link_poll_ms = 1;
  mc.zero_copy_slots = 256;
  // Both ways of seeing the PMD's free, whatever `automatic` picks on this CPU.
  mc.release_detection = (seed / 2) % 2 == 0 ? dpdk::ReleaseDetection::reference_count
                                             : dpdk::ReleaseDetection::mempool_driver;
  config.adapter.run_to_completion = pick() % 3 != 0;
  config.adapter.verifier = seed % 2 == 1;
  auto opened = dpdk::Stack::open(config);
  ASSERT_TRUE(opened.has_value()) << opened.error().message;
  std::unique_ptr<dpdk::Stack> stack = std::move(*opened);
  Adapter* adapter = &stack->adapter();
  dpdk::DpdkMiniport* miniport = &stack->miniport();
  EXPECT_EQ(miniport->release_detection(), mc.release_detection);
  RingDevice device(ring, *adapter);
  {
    ModelRun::Options o;
    o.deserialized = mc.deserialized;
    o.max_total_size = adapter->maximum_total_size();
    o.steps = 250;
    ModelRun run(seed, *adapter, device, o);
    run.run();
    if (!::testing::Test::HasFailure()) {
      // Every slot spare again once the consumer frees what it holds (copies of frames whose
      // packets completed at a reset included): mbufs back at their starting level (R40).
      EXPECT_TRUE(testing_support::poll_until(*adapter, [&] {
        device.settle();
        return miniport->zero_copy_slots_spare() == miniport->zero_copy_slots();
      })) << miniport->zero_copy_slots_spare() << " of " << miniport->zero_copy_slots() << " slots spare";
    }
  }  // halts the adapter
  device.settle();
  stack.reset();
  rte_eth_dev_set_link_up(ring.port_id);
}

TEST(ContractModelOnNetRing, R40_RandomProtocolActionsAgainstTheDpdkMiniportMatchTheModelAtEveryStep) {
  RingPort ring("model", 64);
  testing_support::for_each_model_seed(100, [&](uint64_t seed) { run_seed(ring, seed); });
}

}  // namespace
}  // namespace pkio
