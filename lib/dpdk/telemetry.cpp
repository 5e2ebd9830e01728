#include <pkio/dpdk/telemetry.h>

#include <rte_telemetry.h>

#include <array>
#include <cstdlib>
#include <mutex>
#include <string_view>

#include <pkio/adapter.h>
#include <pkio/cycles.h>

namespace pkio::dpdk {
namespace {

constexpr unsigned max_entries = 64;

struct Registry {
  std::mutex mutex;  // control path and the telemetry thread only, never the data path
  std::array<const Adapter*, max_entries> adapters{};
  std::array<std::string, max_entries> names;
};

Registry& registry() {
  static Registry r;
  return r;
}

// The adapter named (or numbered) by a command's parameter; the caller holds the mutex.
const Adapter* find(Registry& r, const char* params) {
  if (params == nullptr || *params == '\0') return nullptr;
  for (unsigned i = 0; i < max_entries; ++i)
    if (r.adapters[i] != nullptr && r.names[i] == params) return r.adapters[i];
  char* end = nullptr;
  const unsigned long index = std::strtoul(params, &end, 10);
  if (*end != '\0') return nullptr;
  unsigned seen = 0;
  for (unsigned i = 0; i < max_entries; ++i)
    if (r.adapters[i] != nullptr && seen++ == index) return r.adapters[i];
  return nullptr;
}

// Runs `answer` on the adapter a command names, under the registry's lock (so the adapter
// cannot be unpublished meanwhile); -1 (telemetry answers null) if there is no such adapter.
template <typename Answer>
int with_adapter(const char* params, Answer&& answer) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  const Adapter* a = find(r, params);
  if (a == nullptr) return -1;
  answer(*a);
  return 0;
}

int list_adapters(const char*, const char*, rte_tel_data* d) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
  for (unsigned i = 0; i < max_entries; ++i)
    if (r.adapters[i] != nullptr) rte_tel_data_add_array_string(d, r.names[i].c_str());
  return 0;
}

void answer_counters(const Adapter& a, rte_tel_data* d) {
  const AdapterCounters c = a.counters();
  rte_tel_data_start_dict(d);
  for (const CounterField& f : counter_fields) rte_tel_data_add_dict_u64(d, f.name, c.*f.field);
  for (unsigned i = 0; i < status_count; ++i) {
    if (c.completed_by_status[i] == 0) continue;
    const std::string key = "completed_" + std::string(to_string(all_statuses[i]));
    rte_tel_data_add_dict_u64(d, key.c_str(), c.completed_by_status[i]);
  }
  for (std::size_t i = 0; i < std::size(violation_names); ++i) {
    const std::string key = std::string("violation_") + violation_names[i];
    rte_tel_data_add_dict_u64(d, key.c_str(), violation_count(c.violations, i));
  }
}

void answer_latency(const Adapter& a, rte_tel_data* d) {
  const LatencyHistogram& h = a.latency_cycles();
  const auto ns = [&](double fraction) {
    return static_cast<uint64_t>(cycles_to_ns(static_cast<double>(h.percentile(fraction))));
  };
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_u64(d, "count", h.count());
  rte_tel_data_add_dict_u64(d, "p50_ns", ns(0.5));
  rte_tel_data_add_dict_u64(d, "p99_ns", ns(0.99));
  rte_tel_data_add_dict_u64(d, "p999_ns", ns(0.999));
}

void answer_batch_sizes(const Adapter& a, rte_tel_data* d) {
  const std::vector<uint64_t> counts = a.batch_size_counts();
  size_t used = counts.size();
  while (used > 1 && counts[used - 1] == 0) --used;
  rte_tel_data_start_array(d, RTE_TEL_U64_VAL);
  for (size_t k = 0; k < used; ++k) rte_tel_data_add_array_u64(d, counts[k]);
}

int counters(const char*, const char* params, rte_tel_data* d) {
  return with_adapter(params, [d](const Adapter& a) { answer_counters(a, d); });
}
int latency(const char*, const char* params, rte_tel_data* d) {
  return with_adapter(params, [d](const Adapter& a) { answer_latency(a, d); });
}
int batch_sizes(const char*, const char* params, rte_tel_data* d) {
  return with_adapter(params, [d](const Adapter& a) { answer_batch_sizes(a, d); });
}

void register_commands() {
  static std::once_flag once;
  std::call_once(once, [] {
    rte_telemetry_register_cmd("/pkio/adapters", list_adapters, "Names of the pkio adapters published. No parameters");
    rte_telemetry_register_cmd("/pkio/counters", counters,
                               "A pkio adapter's counters (R40). Parameters: adapter name or index");
    rte_telemetry_register_cmd("/pkio/latency", latency,
                               "Submit-to-completion latency percentiles. Parameters: adapter name or index");
    rte_telemetry_register_cmd("/pkio/batch_sizes", batch_sizes,
                               "Miniport calls by array size. Parameters: adapter name or index");
  });
}

bool good_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (const char ch : name)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
          ch == '_' || ch == '-'))
      return false;
  return true;
}

}  // namespace

Result<std::unique_ptr<TelemetryEntry>> TelemetryEntry::publish(const Adapter& adapter, const std::string& name) {
  if (!good_name(name))
    return failure_of(Status::invalid_data, "telemetry name '" + name + "' must be 1-64 letters, digits, '.', '_' or '-'");
  register_commands();
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  unsigned free_slot = max_entries;
  for (unsigned i = 0; i < max_entries; ++i) {
    if (r.adapters[i] != nullptr && r.names[i] == name)
      return failure_of(Status::failure, "telemetry name '" + name + "' is already published");
    if (r.adapters[i] == nullptr && free_slot == max_entries) free_slot = i;
  }
  if (free_slot == max_entries)
    return failure_of(Status::resources, "telemetry: " + std::to_string(max_entries) + " adapters are published already");
  r.adapters[free_slot] = &adapter;
  r.names[free_slot] = name;
  return std::unique_ptr<TelemetryEntry>(new TelemetryEntry(free_slot));
}

TelemetryEntry::~TelemetryEntry() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);  // waits for a command reading the adapter
  r.adapters[slot_] = nullptr;
  r.names[slot_].clear();
}

}  // namespace pkio::dpdk
