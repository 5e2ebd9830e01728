// The apps' command line: options declared once with their help, every value taken as text
// (and checked by validate.h), --help and --version handled, a bad option one line on stderr;
// the exit statuses the three apps share.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pkio/result.h>

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace pkio::apps {

/// Exit statuses, the same for every app (their --help and the README list them).
namespace exit_status {
inline constexpr int ok = 0;             ///< done (also after SIGINT, SIGTERM or SIGHUP: drained, reported)
inline constexpr int not_drained = 1;    ///< pkio-gen: packets still in flight after the drain timeout
inline constexpr int bad_input = 2;      ///< a bad option, profile, input file, EAL argument or port
inline constexpr int output_failed = 3;  ///< a report (a file, or stdout) could not be written
}  // namespace exit_status

/// The exit-status paragraph of every app's --help.
inline constexpr const char* exit_status_help =
    "Exit status: 0 done (also after SIGINT, SIGTERM or SIGHUP, once everything in flight\n"
    "completed and the summary was written), 1 packets still in flight after the drain timeout\n"
    "(pkio-gen), 2 a bad option, profile, input file, EAL argument or port, 3 a report (a file\n"
    "or stdout) could not be written. Errors are one line on stderr.";

/// Writes "program: message" as one line on stderr (control characters escaped) and returns
/// `code`.
int fail(std::string_view program, std::string_view message, int code = exit_status::bad_input);

/// An app's options (CLI11 underneath).
class CommandLine {
 public:
  CommandLine(std::string program, std::string description);
  ~CommandLine();
  CommandLine(const CommandLine&) = delete;
  CommandLine& operator=(const CommandLine&) = delete;

  /// An option taking a value, `shown` as its default in --help (empty: none shown).
  void option(const std::string& name, const std::string& help, const std::string& shown = "");
  /// An option without a value.
  void flag(const std::string& name, const std::string& help);

  /// What parse() found.
  enum class Parsed { run, help, version };
  /// Parses the application's arguments (after "--"): run, or --help / --version asked for
  /// (the caller prints help() or the version); a bad option is the error (one line).
  [[nodiscard]] Result<Parsed> parse(const std::vector<std::string>& args);
  /// parse(), printing what --help and --version ask for and a bad option's line: nullopt to
  /// go on, else the exit status to end with (0 after help or version, 2 after a bad option).
  [[nodiscard]] std::optional<int> parse_or_exit(const std::vector<std::string>& args);

  /// True if the option was given (with a value, possibly empty).
  [[nodiscard]] bool given(const std::string& name) const;
  /// The option's text as given ("" if not given).
  [[nodiscard]] const std::string& text(const std::string& name) const;
  /// The option's text if given, else `fallback`.
  [[nodiscard]] std::string text_or(const std::string& name, const std::string& fallback) const;
  /// The --help text.
  [[nodiscard]] std::string help() const;
  /// The program name used in messages ("pkio-gen").
  [[nodiscard]] const std::string& program() const noexcept { return program_; }

 private:
  std::string program_;
  std::unique_ptr<CLI::App> app_;
  std::map<std::string, std::string> texts_;
  std::map<std::string, CLI::Option*> options_;
};

}  // namespace pkio::apps
