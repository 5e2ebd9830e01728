// Fuzz target: the comma-separated number lists of pkio-bench (--sizes, --bursts) and
// pkio-maxsend (--values). Input: two bytes choosing the bounds, then the text.
#include <cstdint>
#include <string>
#include <vector>

#include "../check.h"
#include "text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint32_t lo = data[0], hi = lo + data[1] * 40u;
  const std::string text(reinterpret_cast<const char*>(data + 2), size - 2);
  std::vector<uint32_t> values;
  if (!pkio::apps::parse_number_list(text, values, lo, hi)) return 0;
  FUZZ_CHECK(!values.empty(), "accepted an empty list: '%s'", text.c_str());
  for (const uint32_t v : values) FUZZ_CHECK(v >= lo && v <= hi, "%u outside %u..%u", v, lo, hi);
  return 0;
}
