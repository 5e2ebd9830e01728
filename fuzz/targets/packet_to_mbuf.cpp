// Fuzz target: a packet's buffer chain to mbufs (DpdkMiniport, zero-copy slots, buffers
// larger than a slot split into slot-sized pieces; zero padding, R38; software 802.1Q tags,
// R37; segment and size limits, R10) on a real net_ring port with a 9000-byte MTU. Input: a flags byte, the 802.1Q info word, a buffer count
// and two bytes per buffer length; the rest is the frame's content (repeated as needed).
// Oracle: an invalid packet is refused at once and nothing reaches the ring; a valid one
// reaches the ring byte for byte as the contract says (chain concatenated, tag after the MAC
// addresses, zeros up to 60 bytes), completes exactly once with success after the consumer
// frees it, and every descriptor and mbuf is back where it started.
#include <rte_mempool.h>

#include <cstring>

#include "../dpdk_rig.h"
#include <pkio/buffer_pool.h>
#include <pkio/packet_pool.h>

namespace {

constexpr uint32_t max_buffers = 16;
constexpr uint32_t max_buffer_length = 4800;  // over a slot's room (about 2 KB): split
constexpr uint32_t min_frame = 60, mac_addresses = 12;

struct Rig {
  pkio::fuzz::DpdkRig dpdk{9000};
  std::unique_ptr<pkio::PacketPool> packets = pkio::PacketPool::create(4, 0).value();
  std::unique_ptr<pkio::BufferPool> buffers = pkio::BufferPool::create(max_buffers).value();
  std::vector<uint8_t> memory = std::vector<uint8_t>(max_buffers * max_buffer_length + 64);
  uint32_t max_total = 0;
  unsigned mbufs_at_rest = 0;
  Rig() {
    uint32_t written = 0, needed = 0;
    FUZZ_CHECK(query_information(dpdk.binding, pkio::Oid::maximum_total_size, &max_total, 4, &written, &needed) ==
                   pkio::Status::success, "maximum_total_size");
    mbufs_at_rest = rte_mempool_in_use_count(dpdk.stack->port().mempool());
  }
};
Rig* rig = nullptr;

uint32_t read_u16(const uint8_t*& data, size_t& size) {
  uint32_t v = 0;
  for (int i = 0; i < 2 && size > 0; ++i, ++data, --size) v |= static_cast<uint32_t>(*data) << (8 * i);
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  rig = new Rig();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pkio;
  if (size < 6) return 0;
  const uint8_t flags = data[0];
  Ieee8021qInfo info{static_cast<uint32_t>(data[1]) | static_cast<uint32_t>(data[2]) << 8 |
                     static_cast<uint32_t>(data[3]) << 16 | static_cast<uint32_t>(data[4]) << 24};
  if ((flags & 1) == 0) info.value &= 0xFFFF;  // mostly the defined bits; sometimes reserved ones
  const uint32_t count = data[5] % (max_buffers + 1);
  data += 6;
  size -= 6;
  std::vector<uint32_t> lengths(count);
  uint32_t total = 0;
  for (auto& l : lengths) total += (l = read_u16(data, size) % max_buffer_length);

  // The frame's content, then a canary that must never show up in the pad.
  std::vector<uint8_t>& mem = rig->memory;
  for (uint32_t i = 0; i < total; ++i) mem[i] = size > 0 ? data[i % size] : static_cast<uint8_t>(i);
  std::memset(mem.data() + total, 0xA5, 64);

  Packet* p = nullptr;
  FUZZ_CHECK(rig->packets->allocate(p) == Status::success, "packet pool");
  uint32_t offset = 0;
  for (const uint32_t l : lengths) {
    Buffer* b = nullptr;
    FUZZ_CHECK(rig->buffers->allocate(b, mem.data() + offset, l) == Status::success, "buffer pool");
    FUZZ_CHECK(p->chain_at_back(b) == Status::success, "chain");
    offset += l;
  }
  p->ieee8021q = info;

  const bool tag = info.wants_tag();
  const bool valid = total > 0 && total <= rig->max_total && info.is_valid() && !(tag && total < mac_addresses);
  auto& d = rig->dpdk;
  d.completed.clear();
  const Status s = send(d.binding, p);
  size_t expected_completions = 0;
  if (!valid) {
    // Refused at once by the dispatcher (R10), or by the miniport and then completed.
    FUZZ_CHECK(s == Status::invalid_packet || s == Status::pending,
               "%u bytes in %u buffers, info %#x: %s, not invalid_packet", total, count, info.value,
               std::string(to_string(s)).c_str());
    if (s == Status::pending) {
      expected_completions = 1;
      d.wait_completions(1);
      FUZZ_CHECK(d.completed[0] == p && p->oob.status == Status::invalid_packet, "completed with %s",
                 std::string(to_string(p->oob.status)).c_str());
    }
  } else {
    FUZZ_CHECK(s == Status::pending, "%u bytes in %u buffers, info %#x: %s", total, count, info.value,
               std::string(to_string(s)).c_str());
    rte_mbuf* m = nullptr;
    FUZZ_CHECK(rte_ring_dequeue(d.tx, reinterpret_cast<void**>(&m)) == 0, "nothing reached the ring");
    std::vector<uint8_t> expected(mem.begin(), mem.begin() + total);
    if (tag) {
      const uint16_t tci = static_cast<uint16_t>(info.priority() << 13 | info.vlan_id());
      const uint8_t header[4] = {0x81, 0x00, static_cast<uint8_t>(tci >> 8), static_cast<uint8_t>(tci)};
      expected.insert(expected.begin() + mac_addresses, header, header + 4);
    }
    if (total < min_frame) expected.resize(expected.size() + (min_frame - total), 0);
    FUZZ_CHECK(rte_pktmbuf_pkt_len(m) == expected.size(), "frame of %u bytes, expected %zu",
               rte_pktmbuf_pkt_len(m), expected.size());
    std::vector<uint8_t> got(expected.size());
    const void* bytes = rte_pktmbuf_read(m, 0, static_cast<uint32_t>(got.size()), got.data());
    FUZZ_CHECK(bytes != nullptr, "mbuf chain shorter than pkt_len");
    if (bytes != got.data()) std::memcpy(got.data(), bytes, got.size());
    FUZZ_CHECK(got == expected, "frame bytes differ (%u bytes in %u buffers, info %#x)", total, count, info.value);
    rte_pktmbuf_free(m);
    expected_completions = 1;
    d.wait_completions(1);
    FUZZ_CHECK(d.completed[0] == p && p->oob.status == Status::success, "completion");
  }
  FUZZ_CHECK(rte_ring_count(d.tx) == 0, "stray frames on the ring");
  for (int i = 0; i < 3; ++i) d.adapter->poll();
  FUZZ_CHECK(d.completed.size() == expected_completions, "%zu completions", d.completed.size());

  while (Buffer* b = p->unchain_at_front()) FUZZ_CHECK(rig->buffers->free(b) == Status::success, "buffer free");
  FUZZ_CHECK(rig->packets->free(p) == Status::success, "packet free");
  FUZZ_CHECK(rte_mempool_in_use_count(d.stack->port().mempool()) == rig->mbufs_at_rest, "mbufs in use: %u, at rest %u",
             rte_mempool_in_use_count(d.stack->port().mempool()), rig->mbufs_at_rest);
  return 0;
}
