// pkio-gen's per-packet CSV (--csv), written off the completion path: the send-complete
// handler puts a fixed-size record into a bounded single-producer ring, and a writer thread of
// its own formats the rows and writes them without ever waiting on the file (non-blocking
// writes, polled). A reader that stalls (a FIFO, a slow pipe) only makes rows wait, then be
// dropped when the ring is full; drops are counted and reported, and the generator stops
// when told whatever the reader does.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <pkio/result.h>

#include "files.h"

struct rte_ring;

namespace pkio::gen {

/// One completed packet, as the CSV row says it.
struct CsvRecord {
  uint32_t queue;
  uint32_t flow;
  uint64_t sequence;
  uint32_t size;
  uint32_t status;      ///< Status's numeric value
  uint64_t latency_ns;  ///< submit to completion
};

class CsvLog {
 public:
  /// Rows kept in memory while the writer catches up (per queue).
  static constexpr uint32_t ring_rows = 1u << 18;  // 8 MiB: a 200 000-packet run fits whole even if the writer gets no CPU

  /// Writes to `file` (opened non-blocking); the header line first.
  [[nodiscard]] static Result<std::unique_ptr<CsvLog>> start(std::unique_ptr<apps::OutputFile> file, uint32_t queue);
  /// Stops the writer (see finish) if finish() was not called.
  ~CsvLog();
  CsvLog(const CsvLog&) = delete;
  CsvLog& operator=(const CsvLog&) = delete;

  /// From the send-complete handler (one thread): keeps `r`, or drops and counts it if the
  /// ring is full. Never waits.
  void add(const CsvRecord& r) noexcept;

  /// Writes what is kept, for at most `seconds` more (a reader that never reads leaves the
  /// rest unwritten, counted), stops the writer and closes the file: the close's result.
  [[nodiscard]] Result<void> finish(double seconds);

  /// Rows dropped because the ring was full, and rows never written at finish.
  [[nodiscard]] uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed) + unwritten_; }
  /// Rows written.
  [[nodiscard]] uint64_t written() const noexcept { return written_.load(std::memory_order_relaxed); }
  [[nodiscard]] const std::string& path() const noexcept { return file_->path(); }

 private:
  CsvLog() = default;
  void run() noexcept;
  bool write_pending(std::string& pending, int wait_ms) noexcept;

  std::unique_ptr<apps::OutputFile> file_;
  rte_ring* ring_ = nullptr;   // of CsvRecord pointers into records_
  std::vector<CsvRecord> records_;
  uint32_t next_record_ = 0;   // producer: the slot the next record goes into
  std::atomic<uint64_t> dropped_{0}, written_{0};
  uint64_t unwritten_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> deadline_{0};  // steady-clock ns after which the writer gives up
  std::thread writer_;
  bool finished_ = false;
};

}  // namespace pkio::gen
