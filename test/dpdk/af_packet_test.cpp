// The real kernel path: net_af_packet over a veth pair that this binary creates in a network
// namespace of its own (so nothing outside it is touched). Frames sent through pkio must
// arrive on the peer; `ip link set down` must become media_disconnect and no_cable.
// Needs CAP_SYS_ADMIN/CAP_NET_ADMIN (CI runs as root); without them every test is skipped
// with the reason.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include <pkio/dpdk/eal.h>
#include "dpdk_harness.h"

namespace {

std::string no_privilege;  // why the tests cannot run here, or empty

constexpr uint16_t test_ethertype = 0x88B5;  // IEEE local experimental

/// A raw socket on the veth peer, counting our frames (other traffic is ignored).
struct PeerSocket {
  int fd = -1;
  explicit PeerSocket(const char* iface) {
    fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_ALL);
    addr.sll_ifindex = static_cast<int>(if_nametoindex(iface));
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  }
  ~PeerSocket() { close(fd); }
  /// Frames of our ethertype received within `ms` of silence, with their lengths.
  std::vector<std::vector<uint8_t>> ours(int ms = 500) {
    std::vector<std::vector<uint8_t>> out;
    uint8_t frame[4096];
    pollfd p{fd, POLLIN, 0};
    while (poll(&p, 1, ms) > 0) {
      const ssize_t n = recv(fd, frame, sizeof frame, 0);
      if (n >= 14 && frame[12] == (test_ethertype >> 8) && frame[13] == (test_ethertype & 0xFF))
        out.emplace_back(frame, frame + n);
    }
    return out;
  }
};

/// Waits (bounded) until the kernel says the interface is operationally up: a veth's carrier
/// comes up a moment after `ip link set up`.
bool wait_operstate_up(const char* iface) {
  for (int i = 0; i < 300; ++i) {
    if (pkio::dpdk::kernel_interface_running(iface)) return true;
    usleep(10000);
  }
  return false;
}

#define REQUIRE_PRIVILEGE() \
  if (!no_privilege.empty()) GTEST_SKIP() << no_privilege

}  // namespace

namespace pkio {
namespace {

using testing_support::DpdkHarness;
using testing_support::PacketFactory;
using testing_support::poll_until;

TEST(AfPacketVeth, FramesSentThroughPkioArriveOnThePeer) {
  REQUIRE_PRIVILEGE();
  PeerSocket peer("pkio1");
  PacketFactory f(256);
  DpdkHarness h;
  h.open(0);
  ASSERT_TRUE(poll_until(h.adapter(), [&] { return h.adapter().media_connected(); }, 3000));
  std::vector<std::vector<uint8_t>> frames(200, std::vector<uint8_t>(100));
  std::vector<Packet*> pkts;
  for (uint32_t i = 0; i < frames.size(); ++i) {
    auto& fr = frames[i];
    std::memset(fr.data(), 0xFF, 6);
    fr[6] = 0x02;
    fr[12] = test_ethertype >> 8;
    fr[13] = test_ethertype & 0xFF;
    fr[14] = static_cast<uint8_t>(i);
    fr[15] = static_cast<uint8_t>(i >> 8);
    Packet* p = nullptr;
    Buffer* b = nullptr;
    ASSERT_EQ(f.packets->allocate(p), Status::success);
    ASSERT_EQ(f.buffers->allocate(b, fr.data(), static_cast<uint32_t>(fr.size())), Status::success);
    ASSERT_EQ(p->chain_at_back(b), Status::success);
    pkts.push_back(p);
  }
  send_packets(h.proto.binding, pkts.data(), static_cast<uint32_t>(pkts.size()));
  ASSERT_TRUE(poll_until(h.adapter(), [&] { return h.proto.completed() == 200; }, 5000));
  for (Packet* p : pkts) EXPECT_EQ(h.proto.status_of(p), Status::success);
  const auto got = peer.ours();
  ASSERT_EQ(got.size(), 200u);
  for (uint32_t i = 0; i < 200; ++i) EXPECT_EQ(got[i], frames[i]) << "frame " << i;  // in order, byte for byte
}

TEST(AfPacketVeth, R29_R30_IpLinkSetDownGivesMediaDisconnectAndNoCable) {
  REQUIRE_PRIVILEGE();
  PacketFactory f(8);
  DpdkHarness h;
  dpdk::MiniportConfig mc;
  mc.link_poll_ms = 20;
  h.open(0, mc);
  ASSERT_TRUE(poll_until(h.adapter(), [&] { return h.adapter().media_connected(); }, 3000));
  h.proto.indications.clear();
  ASSERT_EQ(std::system("ip link set pkio0 down"), 0);
  ASSERT_TRUE(poll_until(h.adapter(), [&] { return !h.proto.indications.empty(); }, 2000));  // R29: within 2 s
  EXPECT_EQ(h.proto.indications.back(), Indication::media_disconnect);
  uint32_t state = 0, w = 0, nd = 0;
  ASSERT_EQ(query_information(h.proto.binding, Oid::media_connect_status, &state, 4, &w, &nd), Status::success);
  EXPECT_EQ(state, static_cast<uint32_t>(MediaState::disconnected));
  std::vector<uint8_t> frame(64, 0);
  frame[12] = test_ethertype >> 8;
  frame[13] = test_ethertype & 0xFF;
  Packet* p = nullptr;
  Buffer* b = nullptr;
  ASSERT_EQ(f.packets->allocate(p), Status::success);
  ASSERT_EQ(f.buffers->allocate(b, frame.data(), 64), Status::success);
  ASSERT_EQ(p->chain_at_back(b), Status::success);
  EXPECT_EQ(send(h.proto.binding, p), Status::no_cable);  // R30: promptly
  ASSERT_EQ(std::system("ip link set pkio0 up"), 0);
  ASSERT_TRUE(wait_operstate_up("pkio0"));
  ASSERT_TRUE(poll_until(h.adapter(), [&] { return h.proto.indications.size() == 2; }, 3000));
  EXPECT_EQ(h.proto.indications.back(), Indication::media_connect);
  EXPECT_EQ(send(h.proto.binding, p), Status::pending);
  ASSERT_TRUE(poll_until(h.adapter(), [&] { return h.proto.completed() == 1; }));
}

}  // namespace
}  // namespace pkio

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  // A network namespace of our own, then the veth pair inside it.
  if (unshare(CLONE_NEWNET) != 0) {
    no_privilege = std::string("cannot create a network namespace (") + std::strerror(errno) +
                   "): needs root or CAP_SYS_ADMIN";
  } else if (std::system("ip link add pkio0 type veth peer name pkio1 && ip link set pkio0 up && "
                         "ip link set pkio1 up") != 0) {
    no_privilege = "cannot create a veth pair with `ip link` (iproute2 missing, or no CAP_NET_ADMIN)";
  }
  if (no_privilege.empty() && !(wait_operstate_up("pkio0") && wait_operstate_up("pkio1")))
    no_privilege = "the veth pair did not come up within 3 s";
  if (!no_privilege.empty()) {
    std::fprintf(stderr, "af_packet tests skipped: %s\n", no_privilege.c_str());
    return RUN_ALL_TESTS();
  }
  const std::vector<std::string> eal = {argv[0], "--no-huge", "--no-shconf", "-m", "256", "--no-pci", "-l", "0",
                                        "--log-level=lib.eal:error", "--vdev=net_af_packet0,iface=pkio0"};
  if (auto up = pkio::dpdk::eal_init(eal); !up) {
    std::fprintf(stderr, "%s\n", up.error().message.c_str());
    return 1;
  }
  const int rc = RUN_ALL_TESTS();
  pkio::dpdk::eal_cleanup();
  return rc;
}
