// Adapter: creation and the worker thread. The rest of the dispatcher is in the files beside
// this one, along the seams of adapter.h: protocol_edge, miniport_edge, dispatch (the worker's
// step), completion (statuses and delivery), control (reset, halt, requests), counters.
#include <pkio/adapter.h>

#include <pthread.h>
#include <sched.h>

#include <pkio/cycles.h>

#include "dispatcher/binding.h"
#include "dispatcher/verifier.h"
#include "dispatcher/worker_role.h"

namespace pkio {

constinit thread_local const char tls_thread_mark __attribute__((tls_model("initial-exec"))) = 0;

Adapter::Adapter(const MiniportCharacteristics& miniport, void* context, const AdapterConfig& config)
    : miniport_(miniport), miniport_context_(context), config_(config),
      verifier_(config.verifier ? std::make_unique<Verifier>() : nullptr) {}

Result<std::unique_ptr<Adapter>> Adapter::create(const MiniportCharacteristics& miniport, void* context,
                                                 const AdapterConfig& config) {
  if (miniport.send_packets == nullptr && miniport.send == nullptr)
    return failure_of(Status::failure, "the miniport offers neither send_packets nor send");
  std::unique_ptr<Adapter> a(new Adapter(miniport, context, config));
  if (!a->submissions_.ready()) {
    a->halted_.store(true);  // the miniport never heard of it: nothing to halt
    return failure_of(Status::resources, "cannot allocate the adapter's submission ring");
  }
  // MiniportInitialize: from here on the miniport knows its adapter (no step to forget).
  if (miniport.initialize != nullptr) {
    const Status s = miniport.initialize(context, *a);
    if (s != Status::success) {
      a->halted_.store(true);
      return failure_of(s, "the miniport's initialize failed: " + std::string(to_string(s)));
    }
  }
  uint32_t value = 0, written = 0, needed = 0;
  uint32_t max_send = config.maximum_send_packets;
  if (max_send == 0) {
    max_send = 1;  // R15: 1 if the query fails
    if (miniport.query_information &&
        miniport.query_information(context, Oid::maximum_send_packets, &value, sizeof value,
                                   &written, &needed) == Status::success &&
        written == sizeof value && value > 0)
      max_send = value;
  }
  a->max_send_ = max_send > max_batch ? max_batch : max_send;
  a->max_total_size_ = config.default_maximum_total_size;
  if (miniport.query_information &&
      miniport.query_information(context, Oid::maximum_total_size, &value, sizeof value, &written,
                                 &needed) == Status::success &&
      written == sizeof value && value > 0)
    a->max_total_size_ = value;
  a->timeout_cycles_ = config.send_timeout_ns == 0
                           ? 0
                           : static_cast<uint64_t>(static_cast<double>(config.send_timeout_ns) *
                                                   static_cast<double>(cycles_per_second()) / 1e9);
  a->direct_poll_cycles_ = cycles_per_second() / 1000;  // 1 ms
  a->direct_capable_ = config.run_to_completion && miniport.send_packets != nullptr;
  a->max_direct_ = a->direct_capable_ ? a->max_send_ : 0;
  a->miniport_answers_r10_ = miniport.checks_packets && !miniport.deserialized;
  a->batch_sizes_ = std::make_unique<WorkerCounter[]>(a->max_send_ + 1);
  return a;
}

Adapter::~Adapter() { halt(); }

Result<void> Adapter::start_worker(int cpu) {
  if (config_.run_to_completion)
    return failure_of(Status::failure, "a run-to-completion adapter has no worker thread: its sender polls");
  if (worker_running_.load()) return failure_of(Status::failure, "the worker thread runs already");
  if (halting_.load()) return failure_of(Status::closing, "the adapter is halted");
  stop_worker_.store(false);
  worker_running_.store(true);
  worker_ = std::thread([this, cpu] {
    if (cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu, &set);
      pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    }
    while (!stop_worker_.load(std::memory_order_relaxed)) poll();
  });
  return {};
}

void Adapter::stop_worker() {
  if (!worker_running_.load()) return;
  stop_worker_.store(true);
  worker_.join();
  worker_running_.store(false);
}

}  // namespace pkio
