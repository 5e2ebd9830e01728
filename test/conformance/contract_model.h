// A reference model of the send contract, and a seeded generator of protocol actions checked
// against it after every step (model-based testing). The model is small on purpose: who owns
// each packet (the protocol, the framework, its pool), which binding a completion must reach,
// and with which status (exact where the contract fixes it at submission: closing, no_cable,
// invalid_packet; otherwise one a final status may be). The device beneath the adapter (the
// fake miniport, the DPDK miniport on net_ring) is driven through ModelDevice.
//
// Actions: arrays with repeats at any distance, null entries, packets in flight, freed packets
// and packets from no pool; single sends; sends from inside a handler; completions by the
// device; double and foreign completions; closes (settled, and from inside a handler) and
// reopens; resets; link flaps; frees and reallocations. After every step: every completion
// since the last one was owed (exactly once, to the submitting binding, with an allowed
// status), every send's synchronous answer was the predicted one, and the counters agree with
// the model. A failure names its seed; PKIO_MODEL_SEED=N replays that seed alone.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <pkio/adapter.h>
#include <pkio/buffer_pool.h>
#include <pkio/packet_pool.h>

namespace pkio::testing_support {

/// What lies beneath the adapter in a model run.
class ModelDevice {
 public:
  virtual ~ModelDevice() = default;
  /// The device finishes some of what it holds (the model does not predict which).
  virtual void complete_some(std::mt19937_64& rng) = 0;
  /// The device finishes everything it holds now (called between poll steps while the run
  /// waits for everything to come back).
  virtual void settle() = 0;
  /// Takes the link down or up, and returns once the adapter has seen it.
  virtual void set_link(bool up) = 0;
  /// After a reset: a device whose reset brings its link back up takes it down again if
  /// `link_up` is false (the model's link stays what the run last set).
  virtual void after_reset(bool link_up) { (void)link_up; }
  /// A status a final completion of a normal packet may carry on this device, besides the
  /// reset and halt statuses and no_cable.
  [[nodiscard]] virtual std::set<Status> device_statuses() const = 0;
};

class ModelRun {
 public:
  struct Options {
    uint32_t packets = 96;
    uint32_t max_total_size = 1514;
    int steps = 300;
    bool deserialized = false;
  };

  ModelRun(uint64_t seed, Adapter& adapter, ModelDevice& device, Options options)
      : rng_(seed), adapter_(adapter), device_(device), o_(options),
        pool_(PacketPool::create(options.packets, 0).value()), buffers_(BufferPool::create(options.packets * 2).value()),
        payload_(options.max_total_size + 1) {
    for (uint32_t i = 0; i < o_.packets; ++i) {
      Packet* p = nullptr;
      EXPECT_EQ(pool_->allocate(p), Status::success);
      fill(p);
      owned_.push_back(p);
    }
    open_binding();
  }

  /// Halts the adapter while the run's protocols and packets still exist (a failed run may
  /// leave packets in flight, which halt completes).
  ~ModelRun() { adapter_.halt(); }
  ModelRun(const ModelRun&) = delete;
  ModelRun& operator=(const ModelRun&) = delete;

  /// Runs the steps, then settles and checks the end state.
  void run() {
    for (step_ = 0; step_ < o_.steps && !::testing::Test::HasFatalFailure(); ++step_) {
      act();
      check_counters();
      if (::testing::Test::HasFailure()) return;
    }
    finish();
  }

  /// What happened in the run, for a one-line summary.
  uint64_t submitted() const { return accepted_; }

 private:
  enum class Owner { protocol, framework, freed };
  struct Expect {
    Owner owner = Owner::protocol;
    int binding = -1;                 // the binding that submitted it (while framework-owned)
    std::set<Status> allowed;         // the statuses its completion may carry
    bool valid = true;                // its chain passes R10
    bool ever_submitted = false;
  };
  struct Protocol {
    ModelRun* run;
    int index;
    Binding* binding = nullptr;
    bool closed = false;
    bool close_in_handler = false;    // close from the next handler call
  };

  // --- the model's predictions ---

  /// The status a packet accepted now on binding `b` must or may complete with.
  std::set<Status> admission(const Protocol& b, const Expect& e) const {
    if (b.closed) return {Status::closing};
    if (resetting_) return {Status::reset_in_progress};
    if (!link_up_) return {Status::no_cable};
    if (!e.valid) return {Status::invalid_packet};
    std::set<Status> s = device_.device_statuses();
    s.insert({Status::no_cable, Status::reset_in_progress, Status::request_aborted});
    return s;
  }

  /// send()'s answer, predicted.
  Status predicted_send(const Protocol& b, const Expect& e) const {
    if (e.owner != Owner::protocol) return Status::failure;
    if (b.closed) return Status::closing;
    if (resetting_) return Status::reset_in_progress;
    if (!link_up_) return Status::no_cable;
    if (!e.valid) return Status::invalid_packet;
    return Status::pending;
  }

  void accept(Packet* p, int binding, std::set<Status> allowed) {
    Expect& e = model_[p];
    e.owner = Owner::framework;
    e.binding = binding;
    e.allowed = std::move(allowed);
    e.ever_submitted = true;
    ++accepted_;
    std::erase(owned_, p);
  }

  // --- completions, checked as they arrive ---

  static void on_complete(void* context, Packet* const* packets, uint32_t n) noexcept {
    auto& proto = *static_cast<Protocol*>(context);
    proto.run->arrived(proto, packets, n);
  }

  void arrived(Protocol& proto, Packet* const* packets, uint32_t n) {
    for (uint32_t i = 0; i < n; ++i) {
      Packet* p = packets[i];
      auto it = model_.find(p);
      if (it == model_.end() || it->second.owner != Owner::framework) {
        ADD_FAILURE() << where() << "a completion nothing was owed for (a double or a stray)";
        continue;
      }
      Expect& e = it->second;
      EXPECT_EQ(e.binding, proto.index) << where() << "completed to another binding (R5)";
      EXPECT_TRUE(e.allowed.count(p->oob.status) == 1)
          << where() << "completed with " << to_string(p->oob.status) << ", not one of " << text(e.allowed);
      e.owner = Owner::protocol;
      ++completed_;
      owned_.push_back(p);
    }
    if (proto.close_in_handler) {  // R9: from a handler, close cannot wait: pending
      proto.close_in_handler = false;
      const Status s = close_adapter(proto.binding);
      EXPECT_TRUE(s == Status::pending || s == Status::success) << where() << to_string(s);
      proto.closed = true;
    }
    // R9: send again from the handler (not while the link changes: the model cannot tell at
    // which poll step the adapter sees it).
    if (!proto.closed && !link_changing_ && pick(8) == 0) {
      Packet* p = packets[pick(n)];
      if (model_[p].owner == Owner::protocol) single_send(proto, p);
    }
  }

  // --- actions ---

  void act() {
    const uint64_t a = pick(100);
    if (trace_) std::fprintf(stderr, "step %d: action %llu link %d media %d\n", step_, static_cast<unsigned long long>(a), link_up_, adapter_.media_connected());
    if (a < 34) send_array();
    else if (a < 44) send_one();
    else if (a < 62) device_.complete_some(rng_);
    else if (a < 72) adapter_.poll();
    else if (a < 76) send_resources_available(adapter_);
    else if (a < 79) stray_completion();
    else if (a < 82) close_settled();
    else if (a < 84) arm_close_in_handler();
    else if (a < 87) open_binding();
    else if (a < 90) do_reset();
    else if (a < 93) flap();
    else if (a < 97) free_one();
    else reallocate_one();
  }

  Protocol& some_binding() {
    return *protocols_[pick(protocols_.size())];
  }

  void send_array() {
    if (owned_.empty()) return;
    Protocol& b = some_binding();
    std::vector<Packet*> array;
    const auto n = 1 + pick(std::min<size_t>(owned_.size(), 48));
    std::vector<Packet*> mine(owned_);
    std::shuffle(mine.begin(), mine.end(), rng_);
    for (size_t i = 0; i < n; ++i) array.push_back(mine[i]);
    // Spoilers at random places: repeats at any distance, nulls, packets in flight, freed
    // packets, one from no pool.
    const auto spoilers = pick(4);
    for (uint64_t k = 0; k < spoilers; ++k) {
      const auto at = static_cast<long>(pick(array.size() + 1));
      switch (pick(5)) {
        case 0: case 1: array.insert(array.begin() + at, array[pick(array.size())]); break;
        case 2: array.insert(array.begin() + at, nullptr); break;
        case 3: {
          Packet* busy = any_with(Owner::framework);
          if (busy == nullptr) busy = any_with(Owner::freed);
          if (busy != nullptr) array.insert(array.begin() + at, busy);
          break;
        }
        default: array.insert(array.begin() + at, &outside_); break;
      }
    }
    // The model's view, entry by entry in order, before the call (the framework may complete
    // the first entries before it reaches the last).
    std::set<const Packet*> seen;
    for (Packet* p : array) {
      const bool ok = p != nullptr && p != &outside_ && model_[p].owner == Owner::protocol && seen.count(p) == 0;
      if (p != nullptr) seen.insert(p);
      if (!ok) {
        ++rejected_;
        continue;
      }
      accept(p, b.index, admission(b, model_[p]));
    }
    send_packets(b.binding, array.data(), static_cast<uint32_t>(array.size()));
  }

  void send_one() {
    Protocol& b = some_binding();
    Packet* p = nullptr;
    switch (pick(4)) {
      case 0: p = any_with(Owner::framework); break;  // in flight: refused
      case 1: p = any_with(Owner::freed); break;
      default: break;
    }
    if (p == nullptr && !owned_.empty()) p = owned_[pick(owned_.size())];
    if (p == nullptr) return;
    single_send(b, p);
  }

  void single_send(Protocol& b, Packet* p) {
    Expect& e = model_[p];
    const Status want = predicted_send(b, e);
    if (want == Status::pending) accept(p, b.index, admission(b, e));
    if (want != Status::pending) ++rejected_sync_;  // finished at once (R1)
    if (want == Status::failure) ++rejected_;        // and not the protocol's: a violation too
    const Status got = send(b.binding, p);
    EXPECT_EQ(got, want) << where() << "send() answered " << to_string(got);
  }

  void stray_completion() {
    // A packet the protocol owns that was sent before (a double), or one never sent (foreign).
    Packet* p = nullptr;
    for (Packet* q : owned_)
      if (model_[q].ever_submitted == (pick(2) == 0)) p = q;
    if (p == nullptr) return;
    send_complete(adapter_, p, Status::success);  // the adapter counts it and delivers nothing
    adapter_.poll();
  }

  void close_settled() {
    Protocol& b = some_binding();
    if (b.closed) return;
    settle([&] { return binding_outstanding(b.binding) == 0; });
    EXPECT_EQ(close_adapter(b.binding), Status::success) << where();
    b.closed = true;
  }

  void arm_close_in_handler() {
    Protocol& b = some_binding();
    if (!b.closed) b.close_in_handler = true;
  }

  void open_binding() {
    auto proto = std::make_unique<Protocol>(Protocol{this, static_cast<int>(protocols_.size())});
    ProtocolCharacteristics pc;
    pc.send_complete = &ModelRun::on_complete;
    size_t open = 0;
    for (const auto& q : protocols_) open += !q->closed;
    if (open >= 4) return;
    auto b = open_adapter(adapter_, pc, proto.get());
    ASSERT_TRUE(b.has_value()) << where() << b.error().message;
    proto->binding = *b;
    protocols_.push_back(std::move(proto));
  }

  void do_reset() {
    // R12: everything in flight completes during the reset: with a reset status, or with the
    // one its device gave it just before (not yet delivered), or one fixed at submission.
    for (auto& [p, e] : model_)
      if (e.owner == Owner::framework && e.allowed.size() > 1)
        e.allowed.insert({Status::reset_in_progress, Status::request_aborted});
    resetting_ = true;  // sends from handlers meanwhile get reset_in_progress
    EXPECT_EQ(adapter_.reset(), Status::success) << where();
    resetting_ = false;
    link_changing_ = true;
    device_.after_reset(link_up_);
    link_changing_ = false;
    adapter_.poll();
    for (auto& [p, e] : model_)
      EXPECT_NE(e.owner, Owner::framework) << where() << "still in flight after the reset";
  }

  void flap() {
    link_changing_ = true;
    link_up_ = !link_up_;
    device_.set_link(link_up_);
    link_changing_ = false;
  }

  void free_one() {
    if (owned_.empty()) return;
    Packet* p = owned_[pick(owned_.size())];
    while (Buffer* b = p->unchain_at_front()) EXPECT_EQ(buffers_->free(b), Status::success);
    EXPECT_EQ(pool_->free(p), Status::success) << where();
    model_[p] = Expect{Owner::freed};
    std::erase(owned_, p);
  }

  void reallocate_one() {
    Packet* p = nullptr;
    if (pool_->allocate(p) != Status::success) return;
    fill(p);
    owned_.push_back(p);
  }

  void fill(Packet* p) {
    // One packet in eight is invalid (R10): empty, or longer than maximum_total_size.
    const auto kind = pick(16);
    const uint32_t length = kind == 0 ? 0 : kind == 1 ? o_.max_total_size + 1 : 60 + static_cast<uint32_t>(pick(200));
    Buffer* b = nullptr;
    EXPECT_EQ(buffers_->allocate(b, payload_.data(), length), Status::success);
    EXPECT_EQ(p->chain_at_back(b), Status::success);
    model_[p] = Expect{Owner::protocol, -1, {}, kind > 1, false};
  }

  // --- checks ---

  void check_counters() {
    const AdapterCounters c = adapter_.counters();
    EXPECT_EQ(c.submitted, accepted_) << where();
    EXPECT_EQ(c.completed_ok + c.completed_error, completed_) << where();
    EXPECT_EQ(c.in_flight, accepted_ - completed_) << where();
    EXPECT_EQ(c.rejected_sync, rejected_sync_) << where();
    EXPECT_EQ(c.violations.rejected_entries, rejected_) << where();
    EXPECT_EQ(c.violations.concurrent_use, 0u) << where();
  }

  /// Lets the device finish everything until `done` (bounded).
  template <typename Done>
  void settle(Done&& done) {
    for (int i = 0; i < 100000 && !done(); ++i) {
      device_.settle();
      send_resources_available(adapter_);
      adapter_.poll();
    }
    EXPECT_TRUE(done()) << where() << "did not settle";
  }

  void finish() {
    if (!link_up_) flap();
    settle([&] { return completed_ == accepted_; });
    for (auto& [p, e] : model_) EXPECT_NE(e.owner, Owner::framework) << where() << "never completed";
    check_counters();
    const VerifierReport r = adapter_.verifier_report();
    if (r.enabled) {
      EXPECT_EQ(r.illegal, 0u) << format_verifier_report(r);
      for (const int64_t n : r.census) EXPECT_EQ(n, 0) << format_verifier_report(r);
    }
    // Every packet back in its pool once the protocol frees what it owns (R40).
    for (Packet* p : std::vector<Packet*>(owned_)) free_one_of(p);
    EXPECT_EQ(pool_->available(), pool_->capacity()) << where();
    EXPECT_EQ(buffers_->available(), buffers_->capacity()) << where();
  }

  void free_one_of(Packet* p) {
    while (Buffer* b = p->unchain_at_front()) EXPECT_EQ(buffers_->free(b), Status::success);
    EXPECT_EQ(pool_->free(p), Status::success);
    std::erase(owned_, p);
  }

  Packet* any_with(Owner owner) {
    std::vector<Packet*> found;
    for (auto& [p, e] : model_)
      if (e.owner == owner) found.push_back(const_cast<Packet*>(p));
    return found.empty() ? nullptr : found[pick(found.size())];
  }

  uint64_t pick(uint64_t n) { return n == 0 ? 0 : rng_() % n; }

  std::string where() const { return "step " + std::to_string(step_) + ": "; }
  static std::string text(const std::set<Status>& s) {
    std::string out;
    for (Status x : s) {
      if (!out.empty()) out += ',';
      out += to_string(x);
    }
    return out;
  }

  std::mt19937_64 rng_;
  Adapter& adapter_;
  ModelDevice& device_;
  Options o_;
  std::unique_ptr<PacketPool> pool_;
  std::unique_ptr<BufferPool> buffers_;
  std::vector<std::byte> payload_;
  Packet outside_;  // a packet from no pool (state free): always refused
  std::map<const Packet*, Expect> model_;
  std::vector<Packet*> owned_;  // the protocol's packets, ready to send
  std::vector<std::unique_ptr<Protocol>> protocols_;
  bool link_up_ = true;
  bool resetting_ = false;
  bool link_changing_ = false;
  bool trace_ = std::getenv("PKIO_MODEL_TRACE") != nullptr;  // each step's action on stderr
  uint64_t accepted_ = 0, completed_ = 0, rejected_ = 0, rejected_sync_ = 0;
  int step_ = 0;
};

/// Runs `run_one(seed)` for seeds 1..`default_seeds` (PKIO_MODEL_SEEDS=N for more), or the one
/// seed PKIO_MODEL_SEED names; stops at the first failing seed and says how to replay it.
template <typename RunOne>
void for_each_model_seed(uint64_t default_seeds, RunOne&& run_one) {
  if (const char* one = std::getenv("PKIO_MODEL_SEED")) {
    run_one(std::strtoull(one, nullptr, 10));
    return;
  }
  const char* many = std::getenv("PKIO_MODEL_SEEDS");
  const uint64_t seeds = many ? std::strtoull(many, nullptr, 10) : default_seeds;
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    {
      SCOPED_TRACE("seed " + std::to_string(seed) + " (replay: PKIO_MODEL_SEED=" + std::to_string(seed) + ")");
      run_one(seed);
    }
    if (::testing::Test::HasFailure()) {
      std::printf("model run failed with seed %llu; replay it with PKIO_MODEL_SEED=%llu\n",
                  static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
      return;
    }
  }
}

}  // namespace pkio::testing_support
