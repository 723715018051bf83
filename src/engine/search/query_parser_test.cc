#include "engine/search/query_parser.h"

#include <gtest/gtest.h>

#include "engine/search/date_math.h"

namespace quidditch::engine {
namespace {

int32_t Msm(int32_t n, const char* spec) {
  Result<int32_t> r = CalculateMinShouldMatch(n, spec);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : -999;
}

TEST(MinShouldMatchTest, LuceneSemantics) {
  EXPECT_EQ(Msm(5, "3"), 3);
  EXPECT_EQ(Msm(5, "-1"), 4);
  EXPECT_EQ(Msm(4, "75%"), 3);
  EXPECT_EQ(Msm(3, "75%"), 2);    // floor(2.25)
  EXPECT_EQ(Msm(4, "-25%"), 3);   // 4 - floor(1)
  EXPECT_EQ(Msm(3, "-25%"), 3);   // 3 - floor(0.75)
  EXPECT_EQ(Msm(2, "3<90%"), 2);  // <= 3 clauses: all
  EXPECT_EQ(Msm(10, "3<90%"), 9);
  EXPECT_EQ(Msm(10, "2<-25% 9<-3"), 7);
  EXPECT_EQ(Msm(8, "2<-25% 9<-3"), 6);
  EXPECT_EQ(Msm(2, "-5"), 0);
  EXPECT_FALSE(CalculateMinShouldMatch(3, "abc").ok());
}

TEST(EditDistanceTest, LevenshteinWithTranspositions) {
  EXPECT_EQ(EditDistance("kitten", "sitting", false, 5), 3u);
  EXPECT_EQ(EditDistance("ab", "ba", true, 2), 1u);
  EXPECT_EQ(EditDistance("ab", "ba", false, 2), 2u);
  EXPECT_EQ(EditDistance("quick", "quikc", true, 2), 1u);
  EXPECT_EQ(EditDistance("abc", "abc", true, 0), 0u);
  EXPECT_EQ(EditDistance("abcdef", "a", true, 2), 3u);     // capped at max + 1
  EXPECT_EQ(EditDistance("héllo", "hello", true, 2), 1u);  // code points, not bytes
}

TEST(WildcardTest, GlobSemantics) {
  EXPECT_TRUE(WildcardMatch("ki*y", "kimchy"));
  EXPECT_TRUE(WildcardMatch("ki*y", "kiy"));
  EXPECT_FALSE(WildcardMatch("ki*y", "kimchi"));
  EXPECT_TRUE(WildcardMatch("k?m*", "kimchy"));
  EXPECT_FALSE(WildcardMatch("k?m", "km"));
  EXPECT_TRUE(WildcardMatch("*", ""));
  EXPECT_TRUE(WildcardMatch("a\\*b", "a*b"));
  EXPECT_FALSE(WildcardMatch("a\\*b", "axb"));
  EXPECT_TRUE(WildcardMatch("h?llo", "héllo"));
  EXPECT_TRUE(WildcardMatch("*a*b*c*", "xxaxxbxxcxx"));
}

TEST(FuzzinessTest, Auto) {
  EXPECT_EQ(*ResolveFuzziness("AUTO", "ab"), 0u);
  EXPECT_EQ(*ResolveFuzziness("AUTO", "abc"), 1u);
  EXPECT_EQ(*ResolveFuzziness("AUTO", "abcde"), 1u);
  EXPECT_EQ(*ResolveFuzziness("AUTO", "abcdef"), 2u);
  EXPECT_EQ(*ResolveFuzziness("auto:2,4", "ab"), 1u);
  EXPECT_EQ(*ResolveFuzziness("1", "abcdef"), 1u);
  EXPECT_EQ(*ResolveFuzziness("2", "a"), 2u);
  EXPECT_FALSE(ResolveFuzziness("x", "a").ok());
}

constexpr int64_t kDay = 86400000;

TEST(DateMathTest, NowArithmeticAndRounding) {
  const std::vector<std::string> formats = {"strict_date_optional_time", "epoch_millis"};
  // 2024-03-15T10:20:30.000Z
  const int64_t now = 1710498030000;
  const int64_t day_start = 1710460800000;  // 2024-03-15T00:00:00Z
  EXPECT_EQ(*ParseDateMath("now", false, formats, now, 0), now);
  EXPECT_EQ(*ParseDateMath("now-1d", false, formats, now, 0), now - kDay);
  EXPECT_EQ(*ParseDateMath("now/d", false, formats, now, 0), day_start);
  EXPECT_EQ(*ParseDateMath("now/d", true, formats, now, 0), day_start + kDay - 1);
  EXPECT_EQ(*ParseDateMath("now-1d/d", false, formats, now, 0), day_start - kDay);
  EXPECT_EQ(*ParseDateMath("now+1h", false, formats, now, 0), now + 3600000);
  // Month rounding: 2024-03-01.
  EXPECT_EQ(*ParseDateMath("now/M", false, formats, now, 0), 1709251200000);
  // Week rounding: Monday 2024-03-11.
  EXPECT_EQ(*ParseDateMath("now/w", false, formats, now, 0), 1710115200000);
  // Rounding in a time zone: +01:00 day starts at 23:00Z the day before.
  EXPECT_EQ(*ParseDateMath("now/d", false, formats, now, 3600000), day_start - 3600000);
  EXPECT_FALSE(ParseDateMath("now+1x", false, formats, now, 0).ok());
}

TEST(DateMathTest, AnchoredDates) {
  const std::vector<std::string> formats = {"strict_date_optional_time", "epoch_millis"};
  Result<int64_t> jan = ParseDateMath("2024-01-01", false, formats, 0, 0);
  ASSERT_TRUE(jan.ok()) << jan.status();
  EXPECT_EQ(*jan, 1704067200000);
  // +1M from Jan 31 clamps to Feb 29 (leap year).
  Result<int64_t> r = ParseDateMath("2024-01-31||+1M/d", false, formats, 0, 0);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, 1709164800000);  // 2024-02-29
  EXPECT_EQ(*ParseDateMath("2024-01-01||+1M/d", true, formats, 0, 0),
            1706745600000 + kDay - 1);  // end of 2024-02-01
  // A local date in time_zone -05:00.
  EXPECT_EQ(*ParseDateMath("2024-01-01", false, formats, 0, -5 * 3600000),
            1704067200000 + 5 * 3600000);
  EXPECT_EQ(*ParseTimeZoneOffsetMillis("+01:00"), 3600000);
  EXPECT_EQ(*ParseTimeZoneOffsetMillis("-0530"), -(5 * 3600000 + 30 * 60000));
  EXPECT_FALSE(ParseTimeZoneOffsetMillis("Europe/Paris").ok());
}

}  // namespace
}  // namespace quidditch::engine
