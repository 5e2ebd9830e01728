// pkio-gen's options and traffic profiles: rates, sizes, field ranges, pacing, TOML files,
// and bad input of every kind named in one line with exit code 2.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <vector>

#include "options.h"

namespace pkio::gen {
namespace {

std::optional<Options> parse(std::vector<std::string> args, int& code, std::string& error) {
  std::string help;
  return parse_options(args, code, error, help);
}

/// A profile file in the test's temporary directory, removed afterwards.
struct ProfileFile {
  std::string path;
  explicit ProfileFile(const std::string& text) {
    path = testing::TempDir() + "/profile_" + std::to_string(reinterpret_cast<uintptr_t>(this)) + ".toml";
    std::ofstream(path) << text;
  }
  ~ProfileFile() { std::remove(path.c_str()); }
};

TEST(GenOptions, RatesInEveryUnit) {
  Options o;
  ASSERT_TRUE(parse_rate("1000", o));
  EXPECT_DOUBLE_EQ(o.rate_pps, 1000);
  ASSERT_TRUE(parse_rate("2.5Mpps", o));
  EXPECT_DOUBLE_EQ(o.rate_pps, 2.5e6);
  ASSERT_TRUE(parse_rate("10Gbps", o));
  EXPECT_DOUBLE_EQ(o.rate_bps, 1e10);
  EXPECT_DOUBLE_EQ(o.rate_pps, 0);
  ASSERT_TRUE(parse_rate("50%", o));
  EXPECT_DOUBLE_EQ(o.rate_percent, 50);
  for (const char* bad : {"", "fast", "-5", "0", "10Xbps", "150%", "1e3Mpps2"}) EXPECT_FALSE(parse_rate(bad, o)) << bad;
}

TEST(GenTraffic, SizesRangesAndMixes) {
  SizeSpec s;
  std::string why;
  ASSERT_TRUE(parse_size_spec("64", s, why));
  EXPECT_EQ(s.kind, SizeSpec::Kind::fixed);
  EXPECT_EQ(s.max, 64u);
  ASSERT_TRUE(parse_size_spec("64-1518", s, why));
  EXPECT_EQ(s.kind, SizeSpec::Kind::range);
  EXPECT_EQ(s.min, 64u);
  EXPECT_EQ(s.max, 1518u);
  ASSERT_TRUE(parse_size_spec("imix", s, why));
  ASSERT_EQ(s.kind, SizeSpec::Kind::mix);
  ASSERT_EQ(s.mix.size(), 3u);
  EXPECT_EQ(s.min, 60u);
  EXPECT_EQ(s.max, 1514u);
  EXPECT_NEAR(s.mean(), (60.0 * 7 + 590 * 4 + 1514) / 12, 1e-9);
  for (const char* bad : {"59", "9019", "100-64", "64.5", "a-b", "-", "64:0", "64:1,", ":3", "64:x", "64-", " 64"}) {
    EXPECT_FALSE(parse_size_spec(bad, s, why)) << bad;
    EXPECT_NE(why.find(bad), std::string::npos) << why;
  }
}

TEST(GenTraffic, FieldRangesOfEveryKind) {
  FieldRange r;
  std::string why;
  ASSERT_TRUE(parse_field_range("02:00:00:00:00:ff+2", FieldKind::mac, r, why)) << why;
  uint8_t mac[6];
  field_value(r, 1, mac, 6);
  EXPECT_EQ(mac[4], 0x01);  // the increment carries into the next byte
  EXPECT_EQ(mac[5], 0x00);
  ASSERT_TRUE(parse_field_range("random:10.0.0.250+10", FieldKind::ipv4, r, why)) << why;
  EXPECT_EQ(r.mode, FieldMode::random);
  EXPECT_EQ(r.count, 10u);
  uint8_t ip[4];
  field_value(r, 9, ip, 4);
  EXPECT_EQ(ip[2], 1);
  EXPECT_EQ(ip[3], 3);
  ASSERT_TRUE(parse_field_range("2001:db8::ffff:ffff+3", FieldKind::ipv6, r, why)) << why;
  uint8_t ip6[16];
  field_value(r, 2, ip6, 16);
  EXPECT_EQ(ip6[11], 1);  // carried past 32 bits
  EXPECT_EQ(ip6[15], 1);
  EXPECT_EQ(to_text(r, FieldKind::ipv6), "2001:db8::ffff:ffff+3");
  ASSERT_TRUE(parse_field_range("1024+100", FieldKind::port, r, why));
  EXPECT_EQ(to_text(r, FieldKind::port), "1024+100");
  const struct {
    const char* text;
    FieldKind kind;
  } bad[] = {{"65536", FieldKind::port},  {"65535+2", FieldKind::port},   {"10.0.0.1+0", FieldKind::ipv4},
             {"10.0.0", FieldKind::ipv4}, {"255.255.255.255+2", FieldKind::ipv4}, {"random:10.0.0.1", FieldKind::ipv4},
             {"2001:db8::1", FieldKind::ipv4}, {"02:00:00:00:00", FieldKind::mac}, {"zz:00:00:00:00:01", FieldKind::mac},
             {"::1+x", FieldKind::ipv6}, {"1024+-1", FieldKind::port}};
  for (const auto& b : bad) {
    EXPECT_FALSE(parse_field_range(b.text, b.kind, r, why)) << b.text;
    EXPECT_NE(why.find(b.text), std::string::npos) << why;
  }
}

TEST(GenTraffic, PacingAndProtocols) {
  Pacing p;
  std::string why;
  ASSERT_TRUE(parse_pacing("burst:16", p, why));
  EXPECT_EQ(p.mode, PacingMode::burst);
  EXPECT_EQ(p.burst, 16u);
  ASSERT_TRUE(parse_pacing("poisson", p, why));
  EXPECT_EQ(p.mode, PacingMode::poisson);
  for (const char* bad : {"", "burst", "burst:0", "burst:x", "gaussian"}) EXPECT_FALSE(parse_pacing(bad, p, why)) << bad;
  IpVersion v;
  Transport t;
  EXPECT_TRUE(parse_ip_version("6", v, why));
  EXPECT_EQ(v, IpVersion::v6);
  EXPECT_FALSE(parse_ip_version("5", v, why));
  EXPECT_TRUE(parse_transport("tcp-syn", t, why));
  EXPECT_FALSE(parse_transport("sctp", t, why));
}

TEST(GenOptions, BadOptionsGiveExitCodeTwoAndNameTheProblem) {
  const std::vector<std::vector<std::string>> bad = {
      {"--size", "10"},          {"--rate", "warp9"},        {"--batch", "0"},         {"--no-such-option"},
      {"--pacing", "sometimes"}, {"--src-ip", "300.1.1.1"},  {"--ip", "5"},            {"--l4", "sctp"},
      {"--vlan", "4096"},        {"--priority", "8"},        {"--dst-port", "70000"},  {"--ip", "6", "--size", "60", "--l4", "tcp-syn"},
      {"--pcap", "x.pcap", "--queues", "2"}, {"--profile", "/nonexistent/profile.toml"}};
  for (const auto& args : bad) {
    int code = -1;
    std::string error;
    EXPECT_FALSE(parse(args, code, error)) << args[0];
    EXPECT_EQ(code, 2) << args[0];
    EXPECT_FALSE(error.empty()) << args[0];
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  }
  int code = -1;
  std::string error;
  EXPECT_FALSE(parse({"--help"}, code, error));
  EXPECT_EQ(code, 0);
}

TEST(GenOptions, DefaultsNeedNoArguments) {
  int code = -1;
  std::string error;
  auto o = parse({}, code, error);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->duration_s, 5);
  EXPECT_EQ(o->batch, 32u);
  ASSERT_EQ(o->streams.size(), 1u);
  EXPECT_EQ(o->streams[0].size.min, 64u);
  auto c = parse({"--count", "100"}, code, error);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->duration_s, 0);  // a count alone runs until the count is reached
  auto v6 = parse({"--ip", "6", "--l4", "tcp-syn", "--size", "100:3,1514:1"}, code, error);
  ASSERT_TRUE(v6) << error;
  EXPECT_EQ(to_text(v6->streams[0].src_ip, FieldKind::ipv6), "2001:2::1");  // RFC 5180 defaults
}

TEST(GenProfile, StreamsAndRunSettingsAndCommandLineOverrides) {
  ProfileFile f(R"(
# two streams, 3:1
[run]
duration = 2.5
rate = "1Mpps"
pacing = "poisson"
batch = 16

[[stream]]
name = "video"
weight = 3
size = "imix"
vlan = 100
priority = 5
dst_ip = "random:198.18.1.0+256"

[[stream]]
name = "syn"
ip = 6
transport = "tcp-syn"
size = "80-200"
src_port = "2000+1000"
)");
  int code = -1;
  std::string error;
  auto o = parse({"--profile", f.path, "--batch", "8"}, code, error);
  ASSERT_TRUE(o) << error;
  EXPECT_EQ(o->duration_s, 2.5);
  EXPECT_EQ(o->rate_pps, 1e6);
  EXPECT_EQ(o->pacing.mode, PacingMode::poisson);
  EXPECT_EQ(o->batch, 8u);  // the command line wins
  ASSERT_EQ(o->streams.size(), 2u);
  EXPECT_EQ(o->streams[0].name, "video");
  EXPECT_EQ(o->streams[0].weight, 3u);
  EXPECT_EQ(o->streams[0].size.kind, SizeSpec::Kind::mix);
  EXPECT_EQ(o->streams[0].vlan, 100);
  EXPECT_EQ(o->streams[0].dst_ip.count, 256u);
  EXPECT_EQ(o->streams[0].dst_ip.mode, FieldMode::random);
  EXPECT_EQ(o->streams[1].ip, IpVersion::v6);
  EXPECT_EQ(o->streams[1].transport, Transport::tcp_syn);
  EXPECT_EQ(o->streams[1].src_port.count, 1000u);
  EXPECT_TRUE(o->tagged());
  auto sized = parse({"--profile", f.path, "--size", "128"}, code, error);
  ASSERT_TRUE(sized) << error;
  EXPECT_EQ(sized->streams[1].size.max, 128u);  // stream options apply to every stream
}

TEST(GenProfile, MistakesNameTheFileAndLine) {
  const struct {
    const char* text;
    const char* expect;
  } bad[] = {
      {"[run]\nbatch = 0\n", ":2: batch must be a whole number from 1 to 1024"},
      {"[run]\nbach = 3\n", ":2: unknown key 'bach' in [run]"},
      {"[run]\nrate = \"lots\"\n", ":2: rate: 'lots' is not a rate"},
      {"[[stream]]\nsize = 10\n", ":2: size"},
      {"[[stream]]\nname = \"a\"\n\n[[stream]]\nsrc_ip = \"1.2.3\"\n", ":5: src_ip"},
      {"[runn]\n", ":1: unknown table 'runn'"},
      {"[run]\nduration = \"long\"\n", ":2: duration must be a number"},
      {"[run\n", ":1:"},
      {"stream = 3\n", "stream must be an array of tables"},
      {"[[stream]]\nip = 6\nsize = 60\ntransport = \"tcp-syn\"\n", "cannot hold ipv6/tcp-syn headers"},
  };
  for (const auto& b : bad) {
    ProfileFile f(b.text);
    int code = -1;
    std::string error;
    EXPECT_FALSE(parse({"--profile", f.path}, code, error)) << b.text;
    EXPECT_EQ(code, 2);
    EXPECT_NE(error.find(b.expect), std::string::npos) << "profile:\n" << b.text << "error: " << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  }
}

}  // namespace
}  // namespace pkio::gen
