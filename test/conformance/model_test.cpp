// The contract model (contract_model.h) against the fake miniport, serialized and deserialized,
// run-to-completion and poll-driven (a cross-thread adapter whose worker's step the test runs
// itself, so every schedule replays exactly), with and without the verifier, and arrays of 1
// to 16 packets per miniport call. Each seed picks one of those and a device that answers
// pending, success, failure, no_cable or resources at random.
#include "contract_model.h"
#include "fake_miniport.h"

namespace pkio {
namespace {

using testing_support::FakeMiniport;
using testing_support::ModelDevice;
using testing_support::ModelRun;

/// The fake miniport as the model's device: random answers, completions when told.
class FakeDevice : public ModelDevice {
 public:
  FakeDevice(FakeMiniport& mp, uint64_t seed) : mp_(mp), rng_(seed ^ 0x5eed) {
    mp.decide = [this](Packet*, uint32_t, uint32_t) {
      switch (rng_() % 10) {
        case 0: case 1: case 2: case 3: case 4: return Status::pending;
        case 5: case 6: return Status::success;
        case 7: return Status::failure;
        case 8: return Status::resources;
        default: return Status::no_cable;
      }
    };
    mp.on_reset = [&mp] {  // a reset device forgets what it held; the adapter completes it
      mp.held.clear();
      return Status::success;
    };
  }
  void complete_some(std::mt19937_64& rng) override {
    std::shuffle(mp_.held.begin(), mp_.held.end(), rng);
    const size_t m = rng() % (mp_.held.size() + 1);
    std::vector<Packet*> now(mp_.held.begin(), mp_.held.begin() + static_cast<long>(m));
    mp_.held.erase(mp_.held.begin(), mp_.held.begin() + static_cast<long>(m));
    // pending as a final status is a miniport's violation: the adapter makes it failure (R22).
    const Status statuses[] = {Status::success, Status::failure, Status::no_cable, Status::pending};
    for (Packet* p : now) send_complete(*mp_.adapter, p, statuses[rng() % 4]);
  }
  void settle() override { mp_.complete_held(Status::success); }
  void set_link(bool up) override {
    indicate_status(*mp_.adapter, up ? Indication::media_connect : Indication::media_disconnect);
  }
  std::set<Status> device_statuses() const override {
    return {Status::success, Status::failure, Status::no_cable};
  }

 private:
  FakeMiniport& mp_;
  std::mt19937_64 rng_;
};

void run_seed(uint64_t seed) {
  std::mt19937_64 pick(seed);
  FakeMiniport mp;
  mp.deserialized = pick() % 3 == 0;
  mp.max_send_packets = 1 + static_cast<uint32_t>(pick() % 16);
  FakeDevice device(mp, seed);
  AdapterConfig config;
  config.run_to_completion = pick() % 3 != 0;  // else poll-driven: the submission ring path
  config.verifier = seed % 2 == 1;
  auto adapter = mp.make_adapter(config);
  ModelRun::Options o;
  o.deserialized = mp.deserialized;
  ModelRun run(seed, *adapter, device, o);
  run.run();
}

TEST(ContractModel, R40_RandomProtocolActionsAgainstTheFakeMiniportMatchTheModelAtEveryStep) {
  testing_support::for_each_model_seed(400, run_seed);
}

}  // namespace
}  // namespace pkio
