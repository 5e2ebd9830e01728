#include <pkio/dpdk/port.h>

#include <string>

#include <pkio/dpdk/miniport.h>

#include <net/if.h>
#include <numa.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <rte_errno.h>
#include <rte_devargs.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

namespace pkio::dpdk {

namespace {
/// Every Port open in the process (control path), so that eal_cleanup can close them first.
std::mutex open_ports_mutex;
std::vector<Port*> open_ports;

std::string ports_list() {
  std::string out;
  uint16_t id;
  RTE_ETH_FOREACH_DEV(id) {
    char name[RTE_ETH_NAME_MAX_LEN];
    if (rte_eth_dev_get_name_by_port(id, name) == 0)
      out += (out.empty() ? "" : ", ") + std::to_string(id) + "=" + name;
  }
  return out.empty() ? "none (give one with --vdev or a PCI address)" : out;
}
}  // namespace

Result<uint16_t> Port::find(const std::string& name_or_id) {
  char* end = nullptr;
  const unsigned long n = std::strtoul(name_or_id.c_str(), &end, 10);
  uint16_t port_id = 0;
  if (!name_or_id.empty() && end != nullptr && *end == '\0' && name_or_id[0] != '-') {
    if (n < RTE_MAX_ETHPORTS && rte_eth_dev_is_valid_port(static_cast<uint16_t>(n))) return static_cast<uint16_t>(n);
  } else if (!name_or_id.empty() && rte_eth_dev_get_port_by_name(name_or_id.c_str(), &port_id) == 0) {
    return port_id;
  }
  return failure_of(Status::failure, "no port '" + name_or_id + "'; ports: " + ports_list());
}

Result<std::unique_ptr<Port>> Port::open(uint16_t port_id, const PortConfig& config) {
  auto fail = [&](const std::string& what, int rc) {
    return failure_of(Status::failure, "port " + std::to_string(port_id) + ": " + what + ": " + rte_strerror(-rc));
  };
  if (!rte_eth_dev_is_valid_port(port_id))
    return failure_of(Status::failure, "no port " + std::to_string(port_id) + "; ports: " + ports_list());
  std::unique_ptr<Port> p(new Port());
  p->id_ = port_id;
  p->config_ = config;
  rte_eth_dev_info info;
  int rc = rte_eth_dev_info_get(port_id, &info);
  if (rc != 0) return fail("cannot read device info", rc);
  char name[RTE_ETH_NAME_MAX_LEN] = {};
  rte_eth_dev_get_name_by_port(port_id, name);
  p->name_ = name;
  p->driver_ = info.driver_name ? info.driver_name : "";
  if (config.tx_queues == 0 || config.tx_queues > info.max_tx_queues)
    return failure_of(Status::failure, "port " + std::to_string(port_id) + " (" + p->name_ + "): cannot do " +
                                           std::to_string(config.tx_queues) + " TX queues (it has at most " +
                                           std::to_string(info.max_tx_queues) + ")");
  p->max_segments_ = info.tx_desc_lim.nb_seg_max ? info.tx_desc_lim.nb_seg_max : 40;
  if (p->driver_ == "net_af_packet") {
    // The --vdev arguments of this device: "iface=veth0,qpairs=1,...".
    for (const rte_devargs* da = rte_devargs_next("vdev", nullptr); da != nullptr; da = rte_devargs_next("vdev", da)) {
      if (p->name_ != da->name || da->args == nullptr) continue;
      const std::string args = da->args;
      const auto at = args.find("iface=");
      if (at != std::string::npos) p->kernel_iface_ = args.substr(at + 6, args.find(',', at) - (at + 6));
    }
  }
  p->socket_ = rte_eth_dev_socket_id(port_id);
  if (p->socket_ < 0) p->socket_ = static_cast<int>(rte_socket_id());

  static std::atomic<unsigned> pools_made{0};  // names must be unique within the process
  const std::string pool_name = "pkio_tx_" + std::to_string(port_id) + "_" + std::to_string(pools_made++);
  // A data room of 2 KiB past the headroom: net_af_packet's default 2016-byte frames fit.
  p->pool_ = rte_pktmbuf_pool_create(pool_name.c_str(), config.mbufs, 256, 0,
                                     RTE_MBUF_DEFAULT_BUF_SIZE + RTE_PKTMBUF_HEADROOM, p->socket_);
  if (p->pool_ == nullptr) return fail("cannot create a pool of " + std::to_string(config.mbufs) + " mbufs", -rte_errno);

  rte_eth_conf conf{};
  // Virtual PMDs that "offload" the 802.1Q insert do it in software with rte_vlan_insert,
  // which refuses an mbuf with a reference count above 1 (the miniport lends its frames with
  // 2) and drops the frame while reporting it sent: pkio inserts the tag itself for them.
  const std::string driver = info.driver_name != nullptr ? info.driver_name : "";
  const bool software_insert = driver == "net_af_packet" || driver == "net_tap" || driver == "net_vhost";
  if (config.vlan_insert_offload && !software_insert && (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_VLAN_INSERT)) {
    conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_VLAN_INSERT;
    p->vlan_offload_ = true;
  }
  if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
    conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
  conf.rxmode.mtu = config.mtu;  // 0: the PMD's default; set here, so no mtu_set op is needed
  rc = rte_eth_dev_configure(port_id, 1, config.tx_queues, &conf);
  if (rc != 0 && config.mtu != 0)
    return fail("cannot configure MTU " + std::to_string(config.mtu) + " (the device allows " +
                    std::to_string(info.min_mtu) + "-" + std::to_string(info.max_mtu) + ")", rc);
  if (rc != 0) return fail("cannot configure " + std::to_string(config.tx_queues) + " TX queues", rc);
  uint16_t rx_desc = config.rx_descriptors, tx_desc = config.tx_descriptors;
  rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &rx_desc, &tx_desc);
  p->config_.tx_descriptors = tx_desc;
  rc = rte_eth_rx_queue_setup(port_id, 0, rx_desc, static_cast<unsigned>(p->socket_), nullptr, p->pool_);
  if (rc != 0) return fail("cannot set up the RX queue", rc);
  for (uint16_t q = 0; q < config.tx_queues; ++q) {
    rc = rte_eth_tx_queue_setup(port_id, q, tx_desc, static_cast<unsigned>(p->socket_), nullptr);
    if (rc != 0) return fail("cannot set up TX queue " + std::to_string(q), rc);
  }
  uint16_t mtu = 0;
  if (rte_eth_dev_get_mtu(port_id, &mtu) == 0 && mtu > 0) p->mtu_ = mtu;
  if (p->start() != Status::success) return fail("cannot start", -EIO);
  {
    std::lock_guard lock(open_ports_mutex);
    open_ports.push_back(p.get());
  }
  return p;
}

bool Port::link_up() const noexcept {
  rte_eth_link link{};
  if (rte_eth_link_get_nowait(id_, &link) != 0 || link.link_status != RTE_ETH_LINK_UP) return false;
  if (kernel_iface_.empty()) return true;
  // The kernel's own word, asked in this process's network namespace (sysfs may show
  // another): administratively up and running (carrier present).
  return kernel_interface_running(kernel_iface_);
}

bool kernel_interface_running(const std::string& iface) noexcept {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ifreq request{};
  std::strncpy(request.ifr_name, iface.c_str(), IFNAMSIZ - 1);
  const bool ok = ioctl(fd, SIOCGIFFLAGS, &request) == 0;
  close(fd);
  return ok && (request.ifr_flags & IFF_UP) && (request.ifr_flags & IFF_RUNNING);
}

void close_all_ports() noexcept {
  std::vector<Port*> ports;
  {
    std::lock_guard lock(open_ports_mutex);
    ports = open_ports;
  }
  for (Port* p : ports) p->close(true);
}

Port::~Port() { close(); }

void Port::close(bool eal_ending) noexcept {
  if (closed_) return;
  closed_ = true;
  {
    std::lock_guard lock(open_ports_mutex);
    std::erase(open_ports, this);
  }
  // Miniports first: each halts its adapter, so nothing sends on the port from here on.
  for (DpdkMiniport* m : std::vector<DpdkMiniport*>(miniports_)) m->port_closing(eal_ending);
  miniports_.clear();
  // Stop, do not close: closing a virtual device removes it from the EAL, and the port should
  // stay there to be opened again (benchmark cases, a second run in the same process).
  // rte_eal_cleanup closes every device at exit.
  if (started_) rte_eth_dev_stop(id_);
  started_ = false;
  if (pool_ == nullptr) return;
  // A consumer (a net_ring reader) may still hold copy-mode mbufs: its free would write into
  // a freed pool, so the pool stays allocated then.
  const unsigned held = rte_mempool_in_use_count(pool_);
  if (held == 0) rte_mempool_free(pool_);
  else
    RTE_LOG(WARNING, USER1, "pkio: port %u (%s) closed with %u mbuf(s) of its pool still held; pool %s stays allocated\n",
            id_, name_.c_str(), held, pool_->name);
  pool_ = nullptr;
}

Status Port::stop() noexcept {
  if (started_ && rte_eth_dev_stop(id_) != 0) return Status::failure;
  started_ = false;
  return Status::success;
}

Status Port::start() noexcept {
  if (started_) return Status::success;
  if (rte_eth_dev_start(id_) != 0) return Status::failure;
  started_ = true;
  return Status::success;
}

std::string Port::placement() const {
  const unsigned lcore = rte_lcore_id();
  const int lcore_socket = lcore == LCORE_ID_ANY ? -1 : static_cast<int>(rte_lcore_to_socket_id(lcore));
  const int numa_nodes = numa_available() < 0 ? 1 : numa_max_node() + 1;
  return "port " + std::to_string(id_) + " (" + name_ + ", " + driver_ + ") on NUMA node " +
         std::to_string(socket_) + "; mbuf pool (" + std::to_string(config_.mbufs) +
         " mbufs) on node " + std::to_string(socket_) + "; lcore " + std::to_string(lcore) +
         " on node " + std::to_string(lcore_socket) + "; " + std::to_string(numa_nodes) +
         " NUMA node(s) on this machine";
}

}  // namespace pkio::dpdk
