// A scriptable fake miniport and a recording protocol for the conformance suite.
// Test doubles only: the product's miniport is lib/dpdk.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include <pkio/adapter.h>
#include <pkio/buffer_pool.h>
#include <pkio/packet_pool.h>

namespace pkio::testing_support {

/// What the fake miniport does with each packet it is given.
struct FakeMiniport {
  bool deserialized = false;
  bool offer_send_packets = true;
  bool offer_send = false;
  bool answer_max_send = true;
  uint32_t max_send_packets = 8;
  uint32_t max_total_size = 1514;
  /// Status per packet (index in the call, call number); default: pending.
  std::function<Status(Packet*, uint32_t, uint32_t)> decide = [](Packet*, uint32_t, uint32_t) {
    return Status::pending;
  };
  /// Called for every packet after its status is set, inside send_packets (e.g. to complete
  /// inline before returning).
  std::function<void(Packet*)> inside_call;
  /// Called once at the end of every send_packets call, still inside it.
  std::function<void()> end_of_call;
  /// Called last in every send_packets call, with the array the call got (e.g. to complete
  /// it by send_complete_packets on that array itself, as the DPDK miniport does).
  std::function<void(Packet* const*, uint32_t)> with_array;
  std::function<Status()> on_reset;

  Adapter* adapter = nullptr;
  std::vector<std::vector<Packet*>> calls;  // every array received, in order
  std::vector<Packet*> held;                // packets returned pending, not yet completed
  std::atomic<int> inside{0};
  std::atomic<int> max_inside{0};
  uint32_t initializes = 0;
  Status initialize_status = Status::success;  // what initialize answers
  uint32_t resets = 0;
  uint32_t halts = 0;
  uint32_t single_sends = 0;

  MiniportCharacteristics characteristics() {
    MiniportCharacteristics c;
    c.initialize = &FakeMiniport::initialize_entry;
    if (offer_send_packets) c.send_packets = &FakeMiniport::send_packets_entry;
    if (offer_send) c.send = &FakeMiniport::send_entry;
    c.query_information = &FakeMiniport::query_entry;
    c.reset = &FakeMiniport::reset_entry;
    c.halt = &FakeMiniport::halt_entry;
    c.deserialized = deserialized;
    return c;
  }

  std::unique_ptr<Adapter> make_adapter(AdapterConfig config = {}) {
    auto a = Adapter::create(characteristics(), this, config);
    EXPECT_TRUE(a.has_value()) << a.error().message;
    if (!a) return nullptr;
    adapter = a->get();
    return std::move(*a);
  }

  /// Completes every held packet with `status`, in the given order, as NdisMSendComplete.
  void complete_held(Status status, bool reverse = false) {
    std::vector<Packet*> now;
    now.swap(held);
    if (reverse) std::reverse(now.begin(), now.end());
    for (Packet* p : now) send_complete(*adapter, p, status);
  }

  uint32_t total_sent() const {
    uint32_t n = 0;
    for (auto& c : calls) n += static_cast<uint32_t>(c.size());
    return n;
  }

 private:
  void enter() {
    const int now = ++inside;
    int prev = max_inside.load();
    while (now > prev && !max_inside.compare_exchange_weak(prev, now)) {
    }
  }

  static Status initialize_entry(void* ctx, Adapter& a) noexcept {
    auto& self = *static_cast<FakeMiniport*>(ctx);
    ++self.initializes;
    if (self.initialize_status == Status::success) self.adapter = &a;  // MiniportInitialize
    return self.initialize_status;
  }

  static void send_packets_entry(void* ctx, Packet* const* packets, uint32_t n) noexcept {
    auto& self = *static_cast<FakeMiniport*>(ctx);
    self.enter();
    const auto call = static_cast<uint32_t>(self.calls.size());
    self.calls.emplace_back(packets, packets + n);
    bool out_of_resources = false;
    for (uint32_t i = 0; i < n; ++i) {
      // After `resources` at index i, i..n-1 all go back (R16): a serialized miniport keeps none.
      const Status s = out_of_resources && !self.deserialized ? Status::resources
                                                              : self.decide(packets[i], i, call);
      if (s == Status::resources) out_of_resources = true;
      packets[i]->oob.status = s;
      if (s == Status::pending || self.deserialized) self.held.push_back(packets[i]);
      if (self.inside_call) self.inside_call(packets[i]);
    }
    if (self.end_of_call) self.end_of_call();
    if (self.with_array) self.with_array(packets, n);
    --self.inside;
  }

  static Status send_entry(void* ctx, Packet* packet, uint32_t) noexcept {
    auto& self = *static_cast<FakeMiniport*>(ctx);
    self.enter();
    ++self.single_sends;
    const auto call = static_cast<uint32_t>(self.calls.size());
    self.calls.push_back({packet});
    const Status s = self.decide(packet, 0, call);
    if (s == Status::pending || self.deserialized) self.held.push_back(packet);
    --self.inside;
    return s;
  }

  static Status query_entry(void* ctx, Oid oid, void* buffer, uint32_t length, uint32_t* written,
                            uint32_t* needed) noexcept {
    auto& self = *static_cast<FakeMiniport*>(ctx);
    if (oid == Oid::maximum_send_packets && self.answer_max_send)
      return answer_query(&self.max_send_packets, 4, buffer, length, written, needed);
    if (oid == Oid::maximum_total_size)
      return answer_query(&self.max_total_size, 4, buffer, length, written, needed);
    *written = 0;
    *needed = 0;
    return Status::not_supported;
  }

  static Status reset_entry(void* ctx) noexcept {
    auto& self = *static_cast<FakeMiniport*>(ctx);
    ++self.resets;
    return self.on_reset ? self.on_reset() : Status::success;
  }

  static void halt_entry(void* ctx) noexcept { ++static_cast<FakeMiniport*>(ctx)->halts; }
};

/// open_adapter into an out parameter, for tests that look at the status alone.
inline Status open_into(Adapter& adapter, const ProtocolCharacteristics& protocol, void* context, Binding*& out) {
  auto b = open_adapter(adapter, protocol, context);
  out = b ? *b : nullptr;
  return b ? Status::success : b.error().status;
}

/// A protocol that records every completion and checks exactly-once delivery.
struct RecordingProtocol {
  std::mutex mutex;
  std::vector<std::pair<Packet*, Status>> completions;
  std::map<Packet*, int> times_completed;
  std::vector<uint32_t> batch_sizes;
  std::vector<Indication> indications;
  std::function<void(Packet*)> on_complete;  // runs inside the handler, per packet
  Binding* binding = nullptr;

  ProtocolCharacteristics characteristics() {
    ProtocolCharacteristics c;
    c.send_complete = &RecordingProtocol::send_complete_entry;
    c.status = &RecordingProtocol::status_entry;
    return c;
  }

  void open(Adapter& adapter) {
    auto b = open_adapter(adapter, characteristics(), this);
    ASSERT_TRUE(b.has_value()) << b.error().message;
    binding = *b;
  }

  Status status_of(Packet* p) {
    std::lock_guard lock(mutex);
    for (auto& [q, s] : completions)
      if (q == p) return s;
    return Status::pending;
  }
  int count_of(Packet* p) {
    std::lock_guard lock(mutex);
    auto it = times_completed.find(p);
    return it == times_completed.end() ? 0 : it->second;
  }
  size_t completed() {
    std::lock_guard lock(mutex);
    return completions.size();
  }

 private:
  static void send_complete_entry(void* ctx, Packet* const* packets, uint32_t n) noexcept {
    auto& self = *static_cast<RecordingProtocol*>(ctx);
    {
      std::lock_guard lock(self.mutex);
      self.batch_sizes.push_back(n);
      for (uint32_t i = 0; i < n; ++i) {
        self.completions.emplace_back(packets[i], packets[i]->oob.status);
        ++self.times_completed[packets[i]];
      }
    }
    if (self.on_complete)
      for (uint32_t i = 0; i < n; ++i) self.on_complete(packets[i]);
  }
  static void status_entry(void* ctx, Indication indication) noexcept {
    auto& self = *static_cast<RecordingProtocol*>(ctx);
    std::lock_guard lock(self.mutex);
    self.indications.push_back(indication);
  }
};

/// Packets with one buffer each over a shared payload, ready to send.
struct PacketFactory {
  std::unique_ptr<PacketPool> packets;
  std::unique_ptr<BufferPool> buffers;
  std::vector<std::byte> payload = std::vector<std::byte>(9000);

  explicit PacketFactory(uint32_t count = 256, uint32_t buffers_per_packet = 2)
      : packets(PacketPool::create(count, 16).value()),
        buffers(BufferPool::create(count * buffers_per_packet).value()) {}

  Packet* make(uint32_t length = 64) {
    Packet* p = nullptr;
    if (packets->allocate(p) != Status::success) return nullptr;
    Buffer* b = nullptr;
    EXPECT_EQ(buffers->allocate(b, payload.data(), length), Status::success);
    EXPECT_EQ(p->chain_at_back(b), Status::success);
    return p;
  }
  std::vector<Packet*> make_many(uint32_t n, uint32_t length = 64) {
    std::vector<Packet*> v;
    for (uint32_t i = 0; i < n; ++i) v.push_back(make(length));
    return v;
  }
  void release(Packet* p) {
    while (Buffer* b = p->unchain_at_front()) EXPECT_EQ(buffers->free(b), Status::success);
    EXPECT_EQ(packets->free(p), Status::success);
  }
};

/// The setup most conformance tests start with: a fake miniport, packets to send, a recording
/// protocol, and (after start) an adapter over the miniport with the protocol bound to it.
/// Configure `mp` before start(). Tests unpack it: auto& [mp, factory, proto, adapter] = rig;
struct Rig {
  FakeMiniport mp;
  PacketFactory factory;
  RecordingProtocol proto;
  std::unique_ptr<Adapter> adapter;

  explicit Rig(uint32_t packets = 256) : factory(packets) {}
  void start(AdapterConfig config = {}) {
    adapter = mp.make_adapter(config);
    proto.open(*adapter);
  }
};

}  // namespace pkio::testing_support
