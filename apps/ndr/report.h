// pkio-ndr's outputs: the live trial line, the per-size result line, JSON, CSV and an SVG of
// the search.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "search.h"
#include "trial.h"

namespace pkio::ndr {

/// Everything found for one frame size.
struct SizeResult {
  uint32_t frame_size = 0;
  double max_rate_pps = 0;
  Found ndr, pdr;
  std::vector<Trial> trials;  ///< every trial in the order run (search, final, latency, loss_curve)
  bool interrupted = false;   ///< a signal stopped it: what is here is what was found so far
};

/// Bits per second on the wire for `pps` frames of `size` bytes (FCS not counted in `size`;
/// + 24 bytes of FCS, preamble and gap).
inline double wire_bps(double pps, uint32_t size) { return pps * (size + 24) * 8; }

std::string trial_line(const Trial& t);
std::string result_line(const SizeResult& r, double pdr);
nlohmann::json trial_json(const Trial& t);
nlohmann::json result_json(const SizeResult& r);
std::string csv_header();
std::string csv_rows(const SizeResult& r);
/// Offered load against trial number and loss ratio against offered load, per size.
std::string search_svg(const std::vector<SizeResult>& results, double pdr);

}  // namespace pkio::ndr
