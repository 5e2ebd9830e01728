// Fuzz target: OID query buffers through a binding (R24-R27) to the DPDK miniport on a real
// port. Input: an OID (a known one by index, or any 32-bit value), a buffer length (small,
// or huge) and the buffer's initial bytes. The buffer is allocated with exactly that length,
// so AddressSanitizer sees any write past it. Oracle (R24): success writes 4 or 8 bytes that
// fit; invalid_length says how many bytes are needed, more than given, and writes nothing;
// an OID nobody answers is not_supported; nothing else.
#include <cstring>
#include <memory>

#include "../dpdk_rig.h"

namespace {

pkio::fuzz::DpdkRig* rig = nullptr;

constexpr pkio::Oid known[] = {
    pkio::Oid::maximum_lookahead,     pkio::Oid::maximum_frame_size,   pkio::Oid::link_speed,
    pkio::Oid::transmit_buffer_space, pkio::Oid::transmit_block_size,  pkio::Oid::maximum_total_size,
    pkio::Oid::mac_options,           pkio::Oid::media_connect_status, pkio::Oid::maximum_send_packets,
    pkio::Oid::xmit_ok,               pkio::Oid::xmit_error,           pkio::Oid::transmit_queue_length,
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  rig = new pkio::fuzz::DpdkRig();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pkio;
  if (size < 7) return 0;
  uint32_t raw = 0;
  std::memcpy(&raw, data + 1, 4);
  const Oid oid = data[0] < 200 ? known[data[0] % std::size(known)] : static_cast<Oid>(raw);
  uint32_t length = static_cast<uint32_t>(data[5]) % 24;
  if (data[6] == 0xFF) length = 1u << 20;  // "huge"
  data += 7;
  size -= 7;
  auto buffer = std::make_unique<uint8_t[]>(length);
  for (uint32_t i = 0; i < length; ++i) buffer[i] = size > 0 ? data[i % size] : 0x5A;
  const auto before = std::make_unique<uint8_t[]>(length);
  if (length > 0) std::memcpy(before.get(), buffer.get(), length);

  uint32_t written = 0xDEAD, needed = 0xBEEF;
  const Status s = query_information(rig->binding, oid, buffer.get(), length, &written, &needed);
  const auto name = std::string(to_string(oid));
  switch (s) {
    case Status::success:
      FUZZ_CHECK(written == 4 || written == 8, "%s: %u bytes written", name.c_str(), written);
      FUZZ_CHECK(written <= length, "%s: %u bytes written into %u", name.c_str(), written, length);
      break;
    case Status::invalid_length:
      FUZZ_CHECK(needed > length && (needed == 4 || needed == 8), "%s: needs %u, had %u", name.c_str(), needed, length);
      FUZZ_CHECK(length == 0 || std::memcmp(before.get(), buffer.get(), length) == 0, "%s: short buffer written",
                 name.c_str());
      break;
    case Status::not_supported:
      FUZZ_CHECK(name == "unknown", "%s is known but not supported", name.c_str());
      break;
    default:
      FUZZ_CHECK(false, "%s: status %s", name.c_str(), std::string(to_string(s)).c_str());
  }
  return 0;
}
