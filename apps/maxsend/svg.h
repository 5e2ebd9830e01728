// An SVG plot of throughput and p99 latency against OID_GEN_MAXIMUM_SEND_PACKETS, viewable in
// a browser as is (no scripts, no external resources).
#pragma once

#include <string>
#include <vector>

#include "sweep.h"

namespace pkio::maxsend {

std::string plot_svg(const std::vector<ValueResult>& results, const std::vector<Recommendation>& recommended,
                     const SweepOptions& o, const std::string& title);

}  // namespace pkio::maxsend
