/// @file
/// Port: one DPDK ethdev port (virtual device or NIC) brought up for sending: its TX queues,
/// an RX queue (some PMDs need one), and an mbuf pool on the port's NUMA node.
///
/// Threading: control path only (open, stop, start from one thread). Each TX queue then has
/// one owner: the worker of the DpdkMiniport built on it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <pkio/result.h>

struct rte_mempool;

namespace pkio::dpdk {

class DpdkMiniport;

/// How a port is brought up.
struct PortConfig {
  uint16_t tx_queues = 1;          ///< TX queues, each for one DpdkMiniport
  uint16_t tx_descriptors = 1024;  ///< TX ring size per queue (adjusted to the PMD's limits)
  uint16_t rx_descriptors = 512;   ///< the RX queue some PMDs need even when only sending
  /// mbufs in the port's pool: copy-mode sends (CompletionMode::on_accept) and the RX queue take them; its
  /// data room sizes the zero-copy slots, which have a pool of their own. Shared by the
  /// port's queues.
  uint32_t mbufs = 16383;
  /// Use the PMD's VLAN insertion offload if it has one (else the miniport inserts the tag).
  bool vlan_insert_offload = true;
  /// The MTU to configure (OID_GEN_MAXIMUM_FRAME_SIZE), e.g. 9000 for jumbo frames; 0 keeps
  /// the PMD's default (1500 for most).
  uint16_t mtu = 0;
};

/// True if the kernel network interface `iface` is up and running (has carrier), asked in the
/// calling process's network namespace. False if it does not exist.
[[nodiscard]] bool kernel_interface_running(const std::string& iface) noexcept;

/// One DPDK ethdev port brought up for sending; see the file comment.
class Port {
 public:
  /// Finds a port by its number ("0") or its device name ("net_null0"). The error names the
  /// ports that exist.
  [[nodiscard]] static Result<uint16_t> find(const std::string& name_or_id);
  /// Configures and starts `port_id` for sending. Fails with a one-line reason for a port
  /// that does not exist, a queue count or MTU it cannot do, or memory that runs out.
  [[nodiscard]] static Result<std::unique_ptr<Port>> open(uint16_t port_id, const PortConfig& config = {});
  /// close(), if eal_cleanup has not done it already.
  ~Port();
  Port(const Port&) = delete;
  Port& operator=(const Port&) = delete;

  /// DPDK port id.
  [[nodiscard]] uint16_t id() const noexcept { return id_; }
  /// Device name ("net_null0", a PCI address).
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  /// PMD name ("net_null").
  [[nodiscard]] const std::string& driver() const noexcept { return driver_; }
  /// NUMA node of the port (and of its mbuf pool).
  [[nodiscard]] int socket_id() const noexcept { return socket_; }
  /// The port's mbuf pool.
  [[nodiscard]] rte_mempool* mempool() const noexcept { return pool_; }
  /// TX queues configured.
  [[nodiscard]] uint16_t tx_queues() const noexcept { return config_.tx_queues; }
  /// TX ring size per queue, as the PMD accepted it.
  [[nodiscard]] uint16_t tx_descriptors() const noexcept { return config_.tx_descriptors; }
  /// Most segments the PMD takes in one packet (nb_seg_max; 40 if it does not say).
  [[nodiscard]] uint16_t max_segments() const noexcept { return max_segments_; }
  /// True if the PMD inserts 802.1Q tags itself (RTE_ETH_TX_OFFLOAD_VLAN_INSERT enabled).
  [[nodiscard]] bool vlan_offload() const noexcept { return vlan_offload_; }
  /// MTU (OID_GEN_MAXIMUM_FRAME_SIZE).
  [[nodiscard]] uint16_t mtu() const noexcept { return mtu_; }
  /// True if the link is up: the PMD's link status and, for a port over a kernel interface
  /// (net_af_packet), that interface's operational state too, because that PMD always
  /// reports its link up even when `ip link set IFACE down` took the interface down.
  [[nodiscard]] bool link_up() const noexcept;
  /// The kernel interface under the port (net_af_packet's iface=), or empty.
  [[nodiscard]] const std::string& kernel_interface() const noexcept { return kernel_iface_; }
  /// One line saying where the port, its pool and the calling lcore sit (NUMA).
  [[nodiscard]] std::string placement() const;

  /// Halts the adapters of miniports still on the port (their packets complete; a warning says
  /// so), stops the port (it stays in the EAL, ready to be opened again) and frees its pool
  /// (left allocated, with a warning, if a consumer still holds mbufs of it). Idempotent;
  /// eal_cleanup calls it for every port still open (`eal_ending`: the miniports then also
  /// let go of their DPDK memory, which dies with the EAL). The object is then only a name.
  void close(bool eal_ending = false) noexcept;

  /// rte_eth_dev_stop (the first half of the miniport's reset).
  Status stop() noexcept;
  /// rte_eth_dev_start (the second half).
  Status start() noexcept;

 private:
  friend class DpdkMiniport;
  Port() = default;
  std::vector<DpdkMiniport*> miniports_;  // built on this port and still alive
  uint16_t id_ = 0;
  std::string name_, driver_, kernel_iface_;
  int socket_ = 0;
  rte_mempool* pool_ = nullptr;
  PortConfig config_{};
  uint16_t max_segments_ = 40;
  bool vlan_offload_ = false;
  uint16_t mtu_ = 1500;
  bool started_ = false;
  bool closed_ = false;
};

/// Closes every Port still open (eal_cleanup calls it before rte_eal_cleanup).
void close_all_ports() noexcept;

}  // namespace pkio::dpdk
