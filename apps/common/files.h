// The apps' files: inputs read whole with limits (only regular files, so a FIFO or a device
// can never make a run wait or eat memory), reports opened before the run and every write
// checked, and stdout written with its errors kept.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <pkio/result.h>

namespace pkio::apps {

/// Reads the file `path` named by `what` (an option, "--profile"): a regular file of at most
/// `max_bytes`. A directory, FIFO, socket or device is refused without reading from it; the
/// OS's reason is given for a file that cannot be opened or read.
[[nodiscard]] Result<std::string> read_input_file(std::string_view what, const std::string& path, std::size_t max_bytes);

/// A file a report is written to. Opened (created or truncated) before the run, so a bad path
/// is reported before anything is sent; every write and the close are checked, and the first
/// failure is kept with the OS's reason.
class OutputFile {
 public:
  /// Opens `path` for `what` ("--json"). A FIFO without a reader is refused (ENXIO) rather
  /// than waited for. `nonblocking`: writes never wait (write_some then takes what fits).
  [[nodiscard]] static Result<std::unique_ptr<OutputFile>> open(std::string what, const std::string& path,
                                                                bool nonblocking = false);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  /// Writes all of `text` (waiting if the file is blocking); false once any write failed.
  bool write(std::string_view text);
  /// A non-blocking file: writes what fits now; returns the bytes taken, or -1 once a write
  /// failed (not for "would block").
  long write_some(std::string_view text);
  /// Closes; the first failure of a write or of the close, as "--json FILE: cannot write: why".
  [[nodiscard]] Result<void> close();
  /// True while no write has failed.
  [[nodiscard]] bool good() const noexcept { return error_.empty(); }
  /// The descriptor (for poll()).
  [[nodiscard]] int fd() const noexcept { return fd_; }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] const std::string& what() const noexcept { return what_; }
  /// The file's identity (device, inode), for refusing one file given twice.
  [[nodiscard]] bool same_file(const OutputFile& other) const noexcept {
    return device_ == other.device_ && inode_ == other.inode_ && is_regular_ && other.is_regular_;
  }

 private:
  OutputFile() = default;
  void failed(int error_number);
  std::string what_, path_, error_;
  int fd_ = -1;
  dev_t device_ = 0;
  ino_t inode_ = 0;
  bool is_regular_ = false;
};

/// Refuses two of `files` that are the same regular file ("--json and --csv name the same
/// file a.out").
[[nodiscard]] Result<void> distinct_outputs(const std::vector<const OutputFile*>& files);

/// Writes `text` to stdout, keeping the first failure (SIGPIPE is ignored: a closed pipe is
/// EPIPE here). Once one failed, nothing more is written. False after a failure.
bool print(std::string_view text);
/// Flushes stdout; the first failure of any print, as "cannot write to stdout: why".
[[nodiscard]] Result<void> stdout_result();

}  // namespace pkio::apps
