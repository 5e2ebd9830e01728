#include "command_line.h"

#include <CLI/CLI.hpp>

#include <cstdio>

#include <pkio/version.h>

#include "validate.h"

namespace pkio::apps {

int fail(std::string_view program, std::string_view message, int code) {
  std::string line;
  for (const char c : message) line += c == '\n' || c == '\r' ? ' ' : c;
  std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(program.size()), program.data(), printable(line).c_str());
  return code;
}

CommandLine::CommandLine(std::string program, std::string description)
    : program_(std::move(program)), app_(std::make_unique<CLI::App>(std::move(description), program_)) {
  app_->set_version_flag("--version", PKIO_VERSION);
}

CommandLine::~CommandLine() = default;

void CommandLine::option(const std::string& name, const std::string& help, const std::string& shown) {
  std::string& text = texts_[name];
  CLI::Option* o = app_->add_option(name, text, help);
  if (!shown.empty()) o->default_str(shown);
  options_[name] = o;
}

void CommandLine::flag(const std::string& name, const std::string& help) {
  options_[name] = app_->add_flag(name, help);
}

Result<CommandLine::Parsed> CommandLine::parse(const std::vector<std::string>& args) {
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 parses a reversed vector
  try {
    app_->parse(reversed);
  } catch (const CLI::CallForHelp&) {
    return Parsed::help;
  } catch (const CLI::CallForVersion&) {
    return Parsed::version;
  } catch (const CLI::ParseError& e) {
    return failure_of(Status::invalid_data, one_line(e.what()) + " (see --help)");
  }
  return Parsed::run;
}

std::optional<int> CommandLine::parse_or_exit(const std::vector<std::string>& args) {
  const auto parsed = parse(args);
  if (!parsed) return fail(program_, parsed.error().message);
  if (*parsed == Parsed::help) {
    std::printf("%s", help().c_str());
    return exit_status::ok;
  }
  if (*parsed == Parsed::version) {
    std::printf("%s %s\n", program_.c_str(), PKIO_VERSION);
    return exit_status::ok;
  }
  return std::nullopt;
}

bool CommandLine::given(const std::string& name) const {
  const auto it = options_.find(name);
  return it != options_.end() && it->second->count() > 0;
}

const std::string& CommandLine::text(const std::string& name) const {
  static const std::string none;
  const auto it = texts_.find(name);
  return it == texts_.end() ? none : it->second;
}

std::string CommandLine::text_or(const std::string& name, const std::string& fallback) const {
  return given(name) ? text(name) : fallback;
}

std::string CommandLine::help() const { return app_->help(); }

}  // namespace pkio::apps
