#include "trial.h"

#include <rte_cycles.h>
#include <rte_lcore.h>

#include <atomic>
#include <cmath>
#include <thread>

#include <pkio/adapter.h>
#include <pkio/cycles.h>

#include "generator.h"
#include "receiver.h"
#include "signals.h"
#include "text.h"
#include "threads.h"

namespace pkio::ndr {

Status run_trial(const TrialPorts& ports, const gen::Options& traffic, double rate_pps, double seconds,
                 uint32_t first_flow, double tolerance, Trial& t, std::string& error) {
  gen::Options o = traffic;
  o.first_flow = first_flow;
  o.rate_pps = rate_pps;
  o.duration_s = seconds;
  o.count = 0;
  std::unique_ptr<gen::QueueSender> sender;
  if (gen::QueueSender::create(*ports.tx, 0, o, nullptr, nullptr, sender, error) != Status::success)
    return Status::failure;
  const auto flows = static_cast<uint32_t>(o.streams.size());
  gen::Receiver receiver(ports.rx->id(), flows, first_flow);
  std::atomic<bool> sent{false};
  std::thread rx([&] {
    apps::run_on_lcore(1);  // beside the sender, if EAL was given a core for it
    if (rte_lcore_id() == LCORE_ID_ANY) (void)rte_thread_register();
    // Frames still on their way when sending ends are waited for (200 ms of quiet, at most
    // 3 s), never counted as lost.
    receiver.run(sent, 200, 3000);
  });
  sender->run(apps::stop_requested(), 0, seconds, rate_pps, 5.0);
  sent.store(true);
  rx.join();

  const AdapterCounters c = sender->adapter().counters();
  // Handed to the device after the time was up: they waited behind a full TX queue.
  const uint64_t late = sender->accepted() - sender->accepted_in_time();
  t.frame_size = o.streams.front().size.min;
  t.intended_pps = rate_pps;
  t.seconds = seconds;
  t.intended = static_cast<uint64_t>(std::llround(rate_pps * seconds));
  t.offered = c.completed_ok;
  t.failed = c.completed_error;
  for (uint32_t i = 0; i < sender->stream_count(); ++i) {
    const auto& flow = receiver.flow(sender->flow_of(i) - first_flow);
    t.received += flow.unique();
    t.duplicated += flow.duplicates;
    t.reordered += flow.reordered;
  }
  t.received = std::min(t.received, t.offered);  // a frame it never sent cannot be received
  t.lost = t.offered - t.received;
  const uint64_t first = sender->first_submit_cycles(), last = sender->last_completion_cycles();
  t.duration_s = last > first ? static_cast<double>(last - first) / static_cast<double>(cycles_per_second()) : 0;
  t.offered_pps = t.duration_s > 0 ? static_cast<double>(t.offered) / t.duration_s : 0;
  t.received_pps = t.duration_s > 0 ? static_cast<double>(t.received) / t.duration_s : 0;
  const auto& latency = receiver.totals().latency;
  t.latency_p50_ns = cycles_to_ns(static_cast<double>(latency.percentile(0.50)));
  t.latency_p99_ns = cycles_to_ns(static_cast<double>(latency.percentile(0.99)));
  t.latency_max_ns = cycles_to_ns(static_cast<double>(latency.max()));
  t.interrupted = apps::stop_requested().load();

  // Valid only if the sender did its part: everything intended was offered (within the
  // tolerance), in the time asked for, and no send failed. Otherwise the loss, or the lack of
  // it, says nothing about the DUT.
  t.valid = false;
  if (t.interrupted) {
    t.invalid_reason = "stopped by a signal";
  } else if (t.failed != 0) {
    std::string by;
    for (unsigned i = 0; i < status_count; ++i)
      if (all_statuses[i] != Status::success && c.completed_by_status[i] != 0)
        by += (by.empty() ? "" : ", ") + std::string(to_string(all_statuses[i])) + " " + std::to_string(c.completed_by_status[i]);
    t.invalid_reason = std::to_string(t.failed) + " sends failed (" + by + ")";
  } else if (static_cast<double>(t.offered) < static_cast<double>(t.intended) * (1 - tolerance)) {
    t.invalid_reason = apps::format("the sender offered %.2f %% of the intended load",
                                    100.0 * static_cast<double>(t.offered) / static_cast<double>(std::max<uint64_t>(t.intended, 1)));
  } else if (static_cast<double>(late) > static_cast<double>(t.intended) * tolerance) {
    t.invalid_reason = apps::format("%llu packets reached the device only after the trial's %.3f s (its TX queue was full)",
                                    static_cast<unsigned long long>(late), seconds);
  } else {
    t.valid = true;
  }
  return Status::success;
}

}  // namespace pkio::ndr
