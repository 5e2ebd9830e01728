#include "csv_log.h"

#include <poll.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <charconv>
#include <chrono>

#include <pkio/status.h>

namespace pkio::gen {

namespace {

uint64_t now_ns() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

void append_row(std::string& out, const CsvRecord& r) {
  char number[24];
  const auto put = [&](uint64_t v, char after) {
    const auto end = std::to_chars(number, number + sizeof number, v).ptr;
    out.append(number, end);
    out.push_back(after);
  };
  put(r.queue, ',');
  put(r.flow, ',');
  put(r.sequence, ',');
  put(r.size, ',');
  out.append(to_string(static_cast<Status>(r.status)));
  out.push_back(',');
  put(r.latency_ns, '\n');
}

}  // namespace

Result<std::unique_ptr<CsvLog>> CsvLog::start(std::unique_ptr<apps::OutputFile> file, uint32_t queue) {
  static_assert(sizeof(CsvRecord) % 4 == 0);
  std::unique_ptr<CsvLog> log(new CsvLog());
  log->file_ = std::move(file);
  const std::string name = "pkio_csv_" + std::to_string(queue);
  log->ring_ = rte_ring_create_elem(name.c_str(), sizeof(CsvRecord), ring_rows, SOCKET_ID_ANY,
                                    RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (log->ring_ == nullptr)
    return failure_of(Status::resources, "--csv: cannot make a ring of " + std::to_string(ring_rows) + " rows");
  log->writer_ = std::thread([l = log.get()] { l->run(); });
  return log;
}

CsvLog::~CsvLog() {
  if (!finished_) (void)finish(0);
  rte_ring_free(ring_);
}

void CsvLog::add(const CsvRecord& r) noexcept {
  CsvRecord copy = r;  // the ring's API takes a non-const pointer
  if (rte_ring_sp_enqueue_elem(ring_, &copy, sizeof copy) != 0) dropped_.fetch_add(1, std::memory_order_relaxed);
}

bool CsvLog::write_pending(std::string& pending, int wait_ms) noexcept {
  while (!pending.empty()) {
    const long n = file_->write_some(pending);
    if (n < 0) return false;  // a write error: kept by the file, reported at finish
    pending.erase(0, static_cast<std::size_t>(n));
    if (n > 0) continue;
    pollfd p{file_->fd(), POLLOUT, 0};
    if (poll(&p, 1, wait_ms) <= 0) return true;  // the reader is slow: come back later
  }
  return true;
}

void CsvLog::run() noexcept {
  std::string pending = "queue,flow,sequence,size,status,latency_ns\n";
  uint64_t pending_rows = 0;
  CsvRecord got[256];
  for (;;) {
    const bool stopping = stop_.load(std::memory_order_acquire);
    if (stopping && now_ns() >= deadline_.load(std::memory_order_relaxed)) break;
    // Only take more rows while little is waiting to be written: a stalled reader then fills
    // the ring, and the handler drops (counted) instead of this thread growing without end.
    unsigned n = 0;
    if (pending.size() < (1u << 20)) {
      n = rte_ring_sc_dequeue_burst_elem(ring_, got, sizeof got[0], 256, nullptr);
      for (unsigned i = 0; i < n; ++i) append_row(pending, got[i]);
      pending_rows += n;
    }
    const std::size_t before = pending.size();
    if (!write_pending(pending, 20)) break;
    if (pending.empty()) {
      written_.fetch_add(pending_rows, std::memory_order_relaxed);
      pending_rows = 0;
    } else if (pending.size() < before && pending_rows > 0) {
      // A part went: count the rows whose newline left (the rest stay pending).
      uint64_t left = 0;
      for (const char c : pending) left += c == '\n';
      written_.fetch_add(pending_rows - left, std::memory_order_relaxed);
      pending_rows = left;
    }
    if (n == 0 && pending.empty()) {
      if (stopping && rte_ring_count(ring_) == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  unwritten_ = pending_rows + rte_ring_count(ring_);
}

Result<void> CsvLog::finish(double seconds) {
  if (finished_) return {};
  finished_ = true;
  deadline_.store(now_ns() + static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
  stop_.store(true, std::memory_order_release);
  if (writer_.joinable()) writer_.join();
  return file_->close();
}

}  // namespace pkio::gen
