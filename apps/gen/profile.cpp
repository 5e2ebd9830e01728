// Traffic profiles: TOML files with a [run] table (what the command line says), an optional
// [replay] table and one [[stream]] table per stream. Unknown keys are errors, so a typo
// never silently falls back to a default.
#include <toml++/toml.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "files.h"
#include "options.h"
#include "validate.h"

namespace pkio::gen {

namespace {

/// Reads the keys of one table, remembering which were known, with errors that name the line.
class TableReader {
 public:
  TableReader(const toml::table& table, std::string file, std::string where)
      : table_(table), file_(std::move(file)), where_(std::move(where)) {}

  template <typename T>
  bool number(const char* key, T& out, double lo, double hi) {
    known_.insert(key);
    const toml::node* node = table_.get(key);
    if (node == nullptr) return true;
    double v;
    if (auto i = node->value_exact<int64_t>()) v = static_cast<double>(*i);
    else if (auto d = node->value_exact<double>()) v = *d;
    else return fail(*node, std::string(key) + " must be a number");
    if (!std::isfinite(v) || v < lo || v > hi ||
        (std::is_integral_v<T> && v != static_cast<double>(static_cast<int64_t>(v))))
      return fail(*node, std::string(key) + " must be " + (std::is_integral_v<T> ? "a whole number" : "a number") +
                             " from " + trim(lo) + " to " + trim(hi));
    out = static_cast<T>(v);
    return true;
  }
  bool text(const char* key, std::string& out) {
    known_.insert(key);
    const toml::node* node = table_.get(key);
    if (node == nullptr) return true;
    if (auto i = node->value_exact<int64_t>()) {  // port = 0, ip = 6: numbers are fine as text
      out = std::to_string(*i);
      return true;
    }
    auto s = node->value_exact<std::string>();
    if (!s) return fail(*node, std::string(key) + " must be a string");
    out = *s;
    return true;
  }
  bool flag(const char* key, bool& out) {
    known_.insert(key);
    const toml::node* node = table_.get(key);
    if (node == nullptr) return true;
    auto b = node->value_exact<bool>();
    if (!b) return fail(*node, std::string(key) + " must be true or false");
    out = *b;
    return true;
  }
  /// A text value checked by `parse` (which sets `why` when it fails).
  template <typename Parse>
  bool parsed(const char* key, Parse parse) {
    std::string value;
    if (!text(key, value)) return false;
    if (value.empty() || table_.get(key) == nullptr) return true;
    std::string why;
    if (!parse(value, why)) return fail(*table_.get(key), std::string(key) + ": " + why);
    return true;
  }
  bool has(const char* key) const { return table_.get(key) != nullptr; }
  /// After all keys were read: any other key is a mistake.
  bool no_unknown_keys() {
    for (const auto& [key, node] : table_) {
      if (known_.count(std::string(key.str())) == 0) {
        std::string list;
        for (const auto& k : known_) list += (list.empty() ? "" : ", ") + k;
        return fail(node, "unknown key '" + std::string(key.str()) + "' in " + where_ + " (known: " + list + ")");
      }
    }
    return true;
  }
  bool fail(const toml::node& node, const std::string& what) {
    error = file_ + ":" + std::to_string(node.source().begin.line) + ": " + what;
    return false;
  }
  std::string error;

 private:
  static std::string trim(double v) {
    std::string s = std::to_string(v);
    s.erase(s.find_last_not_of('0') + 1);
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  }
  const toml::table& table_;
  std::string file_, where_;
  std::set<std::string> known_;
};

bool read_run(TableReader& r, Options& o) {
  o.duration_from_profile = r.has("count") || r.has("duration");
  return r.text("port", o.port) && r.number("queues", o.queues, 1, 64) && r.number("count", o.count, 1, 1e15) &&
         r.number("duration", o.duration_s, 0, 1e7) &&
         r.parsed("rate", [&](const std::string& v, std::string& why) {
           why = "'" + v + "' is not a rate (examples: 1000000, 2.5Mpps, 10Gbps, 50%)";
           return parse_rate(v, o);
         }) &&
         r.parsed("pacing", [&](const std::string& v, std::string& why) { return parse_pacing(v, o.pacing, why); }) &&
         r.number("batch", o.batch, 1, 1024) && r.number("window", o.window, 0, 1 << 30) &&
         r.number("pool", o.pool, 64, 1 << 20) && r.number("mtu", o.mtu, 68, 9000) && r.flag("copy", o.copy) && r.text("rx_port", o.rx_port) &&
         r.text("json", o.json) && r.text("csv", o.csv) && r.flag("quiet", o.quiet) && r.no_unknown_keys();
}

bool read_replay(TableReader& r, Options& o) {
  return r.text("pcap", o.pcap) && r.number("loops", o.loops, 0, 1e15) && r.number("speed", o.replay_speed, 0, 1e6) &&
         r.no_unknown_keys();
}

bool read_stream(TableReader& r, StreamSpec& s) {
  if (!r.text("name", s.name) || !r.number("weight", s.weight, 1, 1e6)) return false;
  if (!r.parsed("ip", [&](const std::string& v, std::string& why) {
        IpVersion version;
        if (!parse_ip_version(v, version, why)) return false;
        if (version != s.ip) s.set_default_addresses(version);
        s.ip = version;
        return true;
      }))
    return false;
  if (!r.parsed("transport", [&](const std::string& v, std::string& why) { return parse_transport(v, s.transport, why); }) ||
      !r.parsed("size", [&](const std::string& v, std::string& why) { return parse_size_spec(v, s.size, why); }) ||
      !r.number("vlan", s.vlan, 0, 4095) || !r.number("priority", s.priority, 0, 7))
    return false;
  const FieldKind ip_kind = s.ip == IpVersion::v4 ? FieldKind::ipv4 : FieldKind::ipv6;
  const struct {
    const char* key;
    FieldKind kind;
    FieldRange& field;
  } fields[] = {{"src_mac", FieldKind::mac, s.src_mac}, {"dst_mac", FieldKind::mac, s.dst_mac},
                {"src_ip", ip_kind, s.src_ip},          {"dst_ip", ip_kind, s.dst_ip},
                {"src_port", FieldKind::port, s.src_port}, {"dst_port", FieldKind::port, s.dst_port}};
  for (const auto& f : fields)
    if (!r.parsed(f.key, [&](const std::string& v, std::string& why) { return parse_field_range(v, f.kind, f.field, why); }))
      return false;
  return r.no_unknown_keys();
}

}  // namespace

bool load_profile(const std::string& path, Options& out, std::string& error) {
  auto text = apps::read_input_file("--profile", path, max_profile_bytes);
  if (!text) {
    error = text.error().message;
    return false;
  }
  return load_profile_text(*text, path, out, error);
}

namespace {

bool parse_profile(std::string_view text, const std::string& path, Options& out, std::string& error);

// Errors quote the profile (toml++ shows the character it stopped at): control characters
// are written as \xNN so the error stays one line.
std::string one_line(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7F) {
      out.push_back(c);
    } else {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02X", static_cast<unsigned char>(c));
      out += escaped;
    }
  }
  return out;
}

}  // namespace

bool load_profile_text(std::string_view text, const std::string& path, Options& out, std::string& error) {
  const bool ok = parse_profile(text, path, out, error);
  if (!ok) error = one_line(error);
  return ok;
}

namespace {

/// The line of the first place where `text` nests deeper than `limit` (arrays, inline tables,
/// dotted keys and table names), or 0: toml++ recurses once per level, and a profile of
/// thousands of levels would overflow the stack inside it.
uint32_t too_deep(std::string_view text, uint32_t limit) {
  uint32_t line = 1, depth = 0, dots = 0;
  char quote = 0;          // the string being read: '"' or '\'', 0 outside
  bool multiline = false;  // it opened with three quotes
  bool comment = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      comment = false;
      dots = 0;
      if (!multiline) quote = 0;
      continue;
    }
    if (comment) continue;
    if (quote != 0) {
      if (c == '\\' && quote == '"') {
        ++i;
      } else if (c == quote && (!multiline || text.substr(i, 3) == std::string(3, quote))) {
        if (multiline) i += 2;
        quote = 0;
      }
      continue;
    }
    if (c == '#') {
      comment = true;
    } else if (c == '"' || c == '\'') {
      quote = c;
      multiline = text.substr(i, 3) == std::string(3, c);
      if (multiline) i += 2;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return line;
    } else if (c == ']' || c == '}') {
      if (depth > 0) --depth;
    } else if (c == '.' && ++dots > limit) {
      return line;
    } else if (c == '=' || c == ',') {
      dots = 0;
    }
  }
  return 0;
}

bool parse_profile(std::string_view text, const std::string& path, Options& out, std::string& error) {
  if (const uint32_t line = too_deep(text, max_profile_nesting); line != 0) {
    error = path + ":" + std::to_string(line) + ": nested more than " + std::to_string(max_profile_nesting) +
            " levels deep (arrays, tables or dotted keys)";
    return false;
  }
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(path));
  } catch (const toml::parse_error& e) {
    const auto& where = e.source();
    if (where.begin.line == 0) error = "cannot read profile " + path + ": " + std::string(e.description());
    else error = path + ":" + std::to_string(where.begin.line) + ": " + std::string(e.description());
    return false;
  }
  Options o;
  o.profile = path;
  for (const auto& [key, node] : root) {
    const std::string name(key.str());
    if (name != "run" && name != "replay" && name != "stream") {
      error = path + ":" + std::to_string(node.source().begin.line) + ": unknown table '" + name +
              "' (known: [run], [replay], [[stream]])";
      return false;
    }
  }
  const auto read_table = [&](const char* name, auto&& read) {
    const toml::node* node = root.get(name);
    if (node == nullptr) return true;
    const toml::table* t = node->as_table();
    if (t == nullptr) {
      error = path + ":" + std::to_string(node->source().begin.line) + ": " + name + " must be a table [" + name + "]";
      return false;
    }
    TableReader r(*t, path, std::string("[") + name + "]");
    if (!read(r)) {
      error = r.error;
      return false;
    }
    return true;
  };
  if (!read_table("run", [&](TableReader& r) { return read_run(r, o); }) ||
      !read_table("replay", [&](TableReader& r) { return read_replay(r, o); }))
    return false;
  if (const toml::node* node = root.get("stream")) {
    const toml::array* streams = node->as_array();
    if (streams == nullptr || !streams->is_array_of_tables()) {
      error = path + ":" + std::to_string(node->source().begin.line) + ": stream must be an array of tables [[stream]]";
      return false;
    }
    o.streams.clear();
    o.streams_from_defaults = false;
    for (const toml::node& s : *streams) {
      StreamSpec spec;
      spec.name = "stream" + std::to_string(o.streams.size());
      TableReader r(*s.as_table(), path, "[[stream]] " + std::to_string(o.streams.size() + 1));
      if (!read_stream(r, spec)) {
        error = r.error;
        return false;
      }
      o.streams.push_back(spec);
    }
    if (o.streams.empty()) {
      error = path + ": no [[stream]] tables";
      return false;
    }
  }
  if (!o.pcap.empty() && !o.streams_from_defaults) {
    error = path + ": [replay] and [[stream]] tables: a run either replays a capture or sends streams";
    return false;
  }
  out = o;
  return true;
}

}  // namespace

}  // namespace pkio::gen
