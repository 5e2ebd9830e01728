#include "files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "validate.h"

namespace pkio::apps {

namespace {

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "not a regular file";
}

int stdout_errno = 0;

}  // namespace

Result<std::string> read_input_file(std::string_view what, const std::string& path, std::size_t max_bytes) {
  const std::string name = std::string(what) + " " + printable(path);
  if (path.empty()) return failure_of(Status::invalid_data, std::string(what) + ": an empty file name");
  // O_NONBLOCK: opening a FIFO with no writer would wait forever; it is refused below anyway.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return failure_of(Status::invalid_data, name + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const std::string kind = kind_of(st.st_mode);
    ::close(fd);
    return failure_of(Status::invalid_data, name + ": " + kind + ", not a regular file");
  }
  if (static_cast<std::size_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return failure_of(Status::invalid_data, name + ": " + std::to_string(st.st_size) + " bytes, more than the " +
                                                std::to_string(max_bytes) + " allowed");
  }
  std::string text;
  text.resize(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int why = errno;
      ::close(fd);
      return failure_of(Status::invalid_data, name + ": cannot read: " + std::strerror(why));
    }
    if (n == 0) break;  // shrank meanwhile
    got += static_cast<std::size_t>(n);
  }
  text.resize(got);
  ::close(fd);
  return text;
}

Result<std::unique_ptr<OutputFile>> OutputFile::open(std::string what, const std::string& path, bool nonblocking) {
  const std::string name = what + " " + printable(path);
  if (path.empty()) return failure_of(Status::invalid_data, what + ": an empty file name");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NONBLOCK, 0644);
  if (fd < 0) {
    const int why = errno;
    return failure_of(Status::invalid_data,
                      name + ": cannot write: " + (why == ENXIO ? "a FIFO that no process reads" : std::strerror(why)));
  }
  std::unique_ptr<OutputFile> f(new OutputFile());
  f->what_ = std::move(what);
  f->path_ = path;
  f->fd_ = fd;
  struct stat st {};
  if (fstat(fd, &st) == 0) {
    f->device_ = st.st_dev;
    f->inode_ = st.st_ino;
    f->is_regular_ = S_ISREG(st.st_mode);
  }
  if (!nonblocking) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return f;
}

OutputFile::~OutputFile() {
  if (fd_ >= 0) ::close(fd_);
}

void OutputFile::failed(int error_number) {
  if (error_.empty()) error_ = std::strerror(error_number);
}

bool OutputFile::write(std::string_view text) {
  while (!text.empty() && good()) {
    const ssize_t n = ::write(fd_, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      failed(errno);
      break;
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return good();
}

long OutputFile::write_some(std::string_view text) {
  if (!good()) return -1;
  const ssize_t n = ::write(fd_, text.data(), text.size());
  if (n >= 0) return n;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
  failed(errno);
  return -1;
}

Result<void> OutputFile::close() {
  if (fd_ >= 0) {
    if (::close(fd_) != 0) failed(errno);
    fd_ = -1;
  }
  if (!good()) return failure_of(Status::failure, what_ + " " + printable(path_) + ": cannot write: " + error_);
  return {};
}

Result<void> distinct_outputs(const std::vector<const OutputFile*>& files) {
  for (std::size_t i = 0; i < files.size(); ++i)
    for (std::size_t j = i + 1; j < files.size(); ++j)
      if (files[i] != nullptr && files[j] != nullptr && files[i]->same_file(*files[j]))
        return failure_of(Status::invalid_data, files[i]->what() + " and " + files[j]->what() +
                                                    " name the same file " + printable(files[j]->path()));
  return {};
}

bool print(std::string_view text) {
  if (stdout_errno != 0) return false;
  errno = 0;
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0) {
    stdout_errno = errno != 0 ? errno : EIO;
    return false;
  }
  return true;
}

Result<void> stdout_result() {
  if (stdout_errno == 0 && std::fflush(stdout) != 0) stdout_errno = errno != 0 ? errno : EIO;
  if (stdout_errno != 0)
    return failure_of(Status::failure, std::string("cannot write to stdout: ") + std::strerror(stdout_errno));
  return {};
}

}  // namespace pkio::apps
