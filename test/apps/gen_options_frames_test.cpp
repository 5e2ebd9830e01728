// pkio-gen's option parsing and frame building: rates, sizes, bad input, checksums.
#include <gtest/gtest.h>

#include <vector>

#include "frames.h"
#include "options.h"

namespace pkio::gen {
namespace {

std::optional<Options> parse(std::vector<std::string> args, int& code, std::string& error) {
  std::string help;
  return parse_options(args, code, error, help);
}

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

TEST(GenOptions, SizesAndRanges) {
  Options o;
  ASSERT_TRUE(parse_size("64", o));
  EXPECT_EQ(o.size_min, 64u);
  EXPECT_EQ(o.size_max, 64u);
  ASSERT_TRUE(parse_size("64-1518", o));
  EXPECT_EQ(o.size_max, 1518u);
  for (const char* bad : {"59", "9019", "100-64", "64.5", "a-b", "-"}) EXPECT_FALSE(parse_size(bad, o)) << bad;
}

TEST(GenOptions, BadOptionsGiveExitCodeTwoAndNameTheProblem) {
  int code = -1;
  std::string error;
  EXPECT_FALSE(parse({"--size", "10"}, code, error));
  EXPECT_EQ(code, 2);
  EXPECT_NE(error.find("--size"), std::string::npos);
  EXPECT_FALSE(parse({"--rate", "warp9"}, code, error));
  EXPECT_EQ(code, 2);
  EXPECT_NE(error.find("--rate"), std::string::npos);
  EXPECT_FALSE(parse({"--batch", "0"}, code, error));
  EXPECT_EQ(code, 2);
  EXPECT_FALSE(parse({"--no-such-option"}, code, error));
  EXPECT_EQ(code, 2);
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
  auto c = parse({"--count", "100"}, code, error);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->duration_s, 0);  // a count alone runs until the count is reached
}

TEST(GenFrames, BuiltFramesHaveCorrectChecksumsAndStampsKeepThemCorrect) {
  for (uint32_t size : {60u, 62u, 64u, 65u, 1514u}) {
    std::vector<uint8_t> frame(size);
    build_frame(frame.data(), size, Addresses{});
    ASSERT_TRUE(checksums_ok(frame.data(), size)) << size;
    for (uint64_t seq : {0ull, 1ull, 0xFFFFFFFFFFFFFFFFull, 0x0123456789ABCDEFull}) {
      stamp_frame(frame.data(), size, seq, seq * 3 + 7);
      ASSERT_TRUE(checksums_ok(frame.data(), size)) << "size " << size << " seq " << seq;
      uint64_t s = 0, t = 0;
      if (size >= min_frame_with_stamp) {
        ASSERT_TRUE(read_stamp(frame.data(), size, s, t));
        EXPECT_EQ(s, seq);
        EXPECT_EQ(t, seq * 3 + 7);
      } else {
        EXPECT_FALSE(read_stamp(frame.data(), size, s, t));
      }
    }
  }
}

TEST(GenFrames, ChecksumVerificationCatchesACorruptedByte) {
  std::vector<uint8_t> frame(128);
  build_frame(frame.data(), 128, Addresses{});
  frame[100] ^= 0x01;
  EXPECT_FALSE(checksums_ok(frame.data(), 128));
}

}  // namespace
}  // namespace pkio::gen
