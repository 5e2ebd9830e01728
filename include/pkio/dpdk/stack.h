/// @file
/// The common DPDK stack in one call: EAL, a port, and on each TX queue a DpdkMiniport with
/// the Adapter over it (NDIS: a NIC's miniport and the miniport block NDIS keeps for it),
/// built in order and torn down in the reverse order. What the apps, benchmarks, examples and
/// tests start with:
///
///     auto stack = pkio::dpdk::Stack::open({.eal_args = eal, .port = "0"});
///     if (!stack) return fail(stack.error().message);
///     auto binding = (*stack)->bind(protocol, &my_context);
///
/// Threading: control path; open and destroy from one thread. Each Lane's adapter then runs
/// as AdapterConfig says (run-to-completion by default: the thread that sends polls).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <pkio/adapter.h>
#include <pkio/dpdk/miniport.h>
#include <pkio/dpdk/port.h>
#include <pkio/protocol.h>
#include <pkio/result.h>

namespace pkio::dpdk {

/// A DpdkMiniport on one TX queue of a port and the Adapter over it, owned together (the
/// adapter goes first).
class Lane {
 public:
  /// A miniport on `port` (queue `miniport.queue_id`) and an adapter over it.
  [[nodiscard]] static Result<std::unique_ptr<Lane>> open(Port& port, const MiniportConfig& miniport = {},
                                                          const AdapterConfig& adapter = {});
  ~Lane();
  Lane(const Lane&) = delete;
  Lane& operator=(const Lane&) = delete;

  /// The adapter (NDIS: the miniport block) that bindings send through.
  [[nodiscard]] Adapter& adapter() noexcept { return *adapter_; }
  /// The miniport on the TX queue.
  [[nodiscard]] DpdkMiniport& miniport() noexcept { return *miniport_; }
  /// NDIS 5.1: NdisOpenAdapter on this lane's adapter (see open_adapter).
  [[nodiscard]] Result<Binding*> bind(const ProtocolCharacteristics& protocol, void* binding_context);

 private:
  Lane() = default;
  std::unique_ptr<DpdkMiniport> miniport_;
  std::unique_ptr<Adapter> adapter_;
};

/// What Stack::open brings up.
struct StackConfig {
  /// rte_eal_init's arguments, program name first; empty: the program "pkio" with
  /// default_eal_args(). Ignored if EAL is up already (eal_init runs once per process).
  std::vector<std::string> eal_args;
  /// The port: a number ("0") or a device name ("net_null0").
  std::string port = "0";
  /// How the port is brought up; tx_queues is raised to `queues` if below.
  PortConfig port_config{};
  /// Lanes to make, on TX queues 0 .. queues-1.
  uint16_t queues = 1;
  /// Each lane's miniport (queue_id is set per lane).
  MiniportConfig miniport{};
  /// Each lane's adapter.
  AdapterConfig adapter{};
};

/// EAL, one port and a Lane per TX queue; see the file comment.
class Stack {
 public:
  /// Brings everything up in order. The error names the step that failed and why.
  [[nodiscard]] static Result<std::unique_ptr<Stack>> open(const StackConfig& config);
  /// Lanes first (their adapters halt, every packet completes), then the port. EAL stays up.
  ~Stack();
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  /// The port.
  [[nodiscard]] Port& port() noexcept { return *port_; }
  /// How many lanes (TX queues) there are.
  [[nodiscard]] uint16_t queues() const noexcept { return static_cast<uint16_t>(lanes_.size()); }
  /// The lane on TX queue `queue`.
  [[nodiscard]] Lane& lane(uint16_t queue = 0) noexcept { return *lanes_[queue]; }
  /// The adapter of the lane on TX queue `queue`.
  [[nodiscard]] Adapter& adapter(uint16_t queue = 0) noexcept { return lanes_[queue]->adapter(); }
  /// The miniport of the lane on TX queue `queue`.
  [[nodiscard]] DpdkMiniport& miniport(uint16_t queue = 0) noexcept { return lanes_[queue]->miniport(); }
  /// NDIS 5.1: NdisOpenAdapter on the adapter of TX queue `queue`.
  [[nodiscard]] Result<Binding*> bind(const ProtocolCharacteristics& protocol, void* binding_context,
                                      uint16_t queue = 0) {
    return lanes_[queue]->bind(protocol, binding_context);
  }

 private:
  Stack() = default;
  std::unique_ptr<Port> port_;
  std::vector<std::unique_ptr<Lane>> lanes_;
};

}  // namespace pkio::dpdk
