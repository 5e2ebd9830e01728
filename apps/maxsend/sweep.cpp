#include "sweep.h"

#include <cstdio>

#include "text.h"

namespace pkio::maxsend {

using apps::format;

Recommendation recommend(std::vector<ValueResult>& results, const std::string& mode, const SweepOptions& o) {
  Recommendation r;
  r.mode = mode;
  for (const auto& v : results)
    if (v.mode == mode && v.mpps.median > r.best_mpps) {
      r.best_mpps = v.mpps.median;
      r.best_value = v.value;
    }
  const ValueResult* chosen = nullptr;
  for (auto& v : results) {
    if (v.mode != mode) continue;
    v.reaches_share = v.mpps.median >= o.share * r.best_mpps;
    v.within_budget = v.load_p99_us <= o.latency_budget_us;
    if (v.reaches_share && v.within_budget && (chosen == nullptr || v.value < chosen->value)) chosen = &v;
  }
  if (chosen == nullptr) {
    r.explanation = format(
        "%s: no value reaches %.0f %% of the best throughput (%.2f Mpps at %u) with a p99 latency "
        "within %.0f us at %.2f Mpps offered; raise the budget or lower the share, or use %u for "
        "throughput alone.",
        mode.c_str(), o.share * 100, r.best_mpps, r.best_value, o.latency_budget_us,
        o.load_fraction * r.best_mpps, r.best_value);
    return r;
  }
  r.found = true;
  r.value = chosen->value;
  const ValueResult* below = nullptr;  // the next smaller value measured, to say why not it
  for (const auto& v : results)
    if (v.mode == mode && v.value < chosen->value && (below == nullptr || v.value > below->value)) below = &v;
  r.explanation = format(
      "%s: recommend OID_GEN_MAXIMUM_SEND_PACKETS = %u. It sends %.2f Mpps (%.1f %% of the best, "
      "%.2f Mpps at %u) at %.1f cycles per packet, with %.1f packets per miniport call on average "
      "and %.3f partial acceptances per call; at a fixed load of %.2f Mpps its p99 completion "
      "latency is %.1f us (budget %.0f us, p50 %.1f us).",
      mode.c_str(), chosen->value, chosen->mpps.median, 100 * chosen->mpps.median / r.best_mpps,
      r.best_mpps, r.best_value, chosen->cycles_per_packet, chosen->mean_batch, chosen->resources_rate,
      chosen->load_mpps, chosen->load_p99_us, o.latency_budget_us, chosen->load_p50_us);
  if (below != nullptr)
    r.explanation += format(" The next smaller value, %u, %s (%.2f Mpps, %.1f %%; p99 %.1f us).", below->value,
                            !below->reaches_share ? "falls short of the throughput share" : "misses the latency budget",
                            below->mpps.median, 100 * below->mpps.median / r.best_mpps, below->load_p99_us);
  else
    r.explanation += " It is the smallest value measured.";
  return r;
}

std::string validate(const std::vector<ValueResult>& results, const Recommendation& r, uint32_t value,
                     const SweepOptions& o) {
  const ValueResult* v = nullptr;
  for (const auto& x : results)
    if (x.mode == r.mode && x.value == value) v = &x;
  if (v == nullptr) return format("not measured: %u is not in the sweep for %s", value, r.mode.c_str());
  const double share = r.best_mpps > 0 ? v->mpps.median / r.best_mpps : 0;
  std::string text;
  if (v->reaches_share && v->within_budget) {
    text = format("good: %u reaches %.1f %% of the best throughput (needs %.0f %%) and a p99 of %.1f us at %.2f Mpps "
                  "offered (budget %.0f us).",
                  value, share * 100, o.share * 100, v->load_p99_us, v->load_mpps, o.latency_budget_us);
    if (r.found && r.value < value)
      text += format(" %u would do as well with smaller arrays.", r.value);
  } else {
    text = format("not good: %u ", value);
    if (!v->reaches_share)
      text += format("reaches only %.1f %% of the best throughput (%.2f of %.2f Mpps; needs %.0f %%)", share * 100,
                     v->mpps.median, r.best_mpps, o.share * 100);
    if (!v->reaches_share && !v->within_budget) text += " and ";
    if (!v->within_budget)
      text += format("has a p99 of %.1f us at %.2f Mpps offered (budget %.0f us)", v->load_p99_us, v->load_mpps,
                     o.latency_budget_us);
    text += ".";
    if (r.found) text += format(" Use %u instead.", r.value);
  }
  return r.mode + ": " + text;
}

}  // namespace pkio::maxsend
