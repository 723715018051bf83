#include "engine/aggs/date_time.h"

#include <gtest/gtest.h>

#include "engine/aggs/aggregator.h"

namespace quidditch::engine::aggs {
namespace {

int64_t Utc(const std::string& iso) {
  auto f = DateFormatter::Create("", DateZone::Utc());
  EXPECT_TRUE(f.ok());
  auto v = (*f)->Parse(iso);
  EXPECT_TRUE(v.ok()) << iso << ": " << v.status();
  return v.ok() ? *v : 0;
}

std::string Fmt(int64_t ms, const std::string& format = "", const std::string& tz = "Z") {
  auto zone = DateZone::Create(tz);
  EXPECT_TRUE(zone.ok());
  auto f = DateFormatter::Create(format, *zone);
  EXPECT_TRUE(f.ok()) << f.status();
  return (*f)->Format(ms);
}

TEST(CivilTest, RoundTripsDaysAgainstBruteForce) {
  // Walk day by day from 1600 to 2400 checking month lengths and leap years.
  int64_t days = DaysFromCivil(1600, 1, 1);
  for (int64_t y = 1600; y < 2400; ++y) {
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    const unsigned lengths[] = {31, leap ? 29u : 28u, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    for (unsigned m = 1; m <= 12; ++m) {
      for (unsigned d = 1; d <= lengths[m - 1]; ++d, ++days) {
        ASSERT_EQ(DaysFromCivil(y, m, d), days);
        int64_t yy;
        unsigned mm, dd;
        CivilFromDays(days, &yy, &mm, &dd);
        ASSERT_EQ(yy, y);
        ASSERT_EQ(mm, m);
        ASSERT_EQ(dd, d);
      }
    }
  }
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
}

TEST(DateFormatterTest, StrictDateOptionalTime) {
  EXPECT_EQ(Fmt(1704067200000), "2024-01-01T00:00:00.000Z");
  EXPECT_EQ(Fmt(1704067200123, "", "+01:00"), "2024-01-01T01:00:00.123+01:00");
  EXPECT_EQ(Fmt(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(Fmt(1704067200000, "yyyy-MM-dd"), "2024-01-01");
  EXPECT_EQ(Fmt(1704067200000, "epoch_millis"), "1704067200000");
  EXPECT_EQ(Fmt(1704067200000, "strict_date||epoch_millis"), "2024-01-01");
  EXPECT_EQ(Fmt(1720000000000, "", "America/New_York"), "2024-07-03T05:46:40.000-04:00");
  EXPECT_EQ(Fmt(1704067200000, "dd/MM/yyyy HH:mm 'h'"), "01/01/2024 00:00 h");
  EXPECT_EQ(Fmt(1704067200000, "EEE, MMM d"), "Mon, Jan 1");
}

TEST(DateFormatterTest, ParsesIsoAndPatterns) {
  EXPECT_EQ(Utc("2024-01-01"), 1704067200000);
  EXPECT_EQ(Utc("2024-01-01T00:00:00Z"), 1704067200000);
  EXPECT_EQ(Utc("2024-01-01T01:00:00+01:00"), 1704067200000);
  EXPECT_EQ(Utc("2024-01-01T00:00:00.5Z"), 1704067200500);
  EXPECT_EQ(Utc("1704067200000"), 1704067200000);  // epoch_millis alternative
  auto f = DateFormatter::Create("dd/MM/yyyy", DateZone::Utc());
  ASSERT_TRUE(f.ok());
  auto v = (*f)->Parse("01/01/2024");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, 1704067200000);
  EXPECT_FALSE((*f)->Parse("2024-01-01").ok());
  auto iso = DateFormatter::Create("", DateZone::Utc());
  EXPECT_FALSE((*iso)->Parse("2023-02-30").ok());
}

TEST(DateZoneTest, UnknownZoneIsAnError) {
  auto z = DateZone::Create("Mars/Olympus");
  ASSERT_FALSE(z.ok());
  EXPECT_NE(z.status().message().find("illegal_argument_exception"), std::string::npos);
  EXPECT_TRUE(DateZone::Create("-05:30").ok());
  EXPECT_EQ((*DateZone::Create("-05:30"))->OffsetAt(0), -(5 * 3600 + 1800) * 1000LL);
}

TEST(DateRoundingTest, CalendarUnitsInUtc) {
  auto zone = DateZone::Utc();
  const int64_t t = Utc("2024-05-15T13:45:30.250Z");  // a Wednesday
  auto round = [&](const char* unit) {
    auto r = DateRounding::Calendar(unit, zone, 0);
    EXPECT_TRUE(r.ok());
    return r->Round(t);
  };
  EXPECT_EQ(round("second"), Utc("2024-05-15T13:45:30Z"));
  EXPECT_EQ(round("minute"), Utc("2024-05-15T13:45:00Z"));
  EXPECT_EQ(round("1h"), Utc("2024-05-15T13:00:00Z"));
  EXPECT_EQ(round("day"), Utc("2024-05-15"));
  EXPECT_EQ(round("week"), Utc("2024-05-13"));  // Monday
  EXPECT_EQ(round("month"), Utc("2024-05-01"));
  EXPECT_EQ(round("quarter"), Utc("2024-04-01"));
  EXPECT_EQ(round("1y"), Utc("2024-01-01"));
  auto month = DateRounding::Calendar("month", zone, 0);
  EXPECT_EQ(month->Next(Utc("2024-12-01")), Utc("2025-01-01"));
  EXPECT_EQ(month->Next(Utc("2024-01-01")), Utc("2024-02-01"));
  EXPECT_FALSE(DateRounding::Calendar("2d", zone, 0).ok());
  // Before the epoch.
  EXPECT_EQ(round("day") - round("day"), 0);
  auto day = DateRounding::Calendar("day", zone, 0);
  EXPECT_EQ(day->Round(-1), Utc("1969-12-31"));
}

TEST(DateRoundingTest, DaysAndHoursAcrossDstInNewYork) {
  auto zone = *DateZone::Create("America/New_York");
  auto day = *DateRounding::Calendar("day", zone, 0);
  // 2024-03-10 is 23 hours long in New York; 2024-11-03 25 hours.
  EXPECT_EQ(day.Round(Utc("2024-03-10T12:00:00Z")), Utc("2024-03-10T05:00:00Z"));
  EXPECT_EQ(day.Next(Utc("2024-03-10T05:00:00Z")), Utc("2024-03-11T04:00:00Z"));
  EXPECT_EQ(day.Round(Utc("2024-11-03T12:00:00Z")), Utc("2024-11-03T04:00:00Z"));
  EXPECT_EQ(day.Next(Utc("2024-11-03T04:00:00Z")), Utc("2024-11-04T05:00:00Z"));
  // The repeated hour 01:00-02:00 on 2024-11-03 makes two hour buckets.
  auto hour = *DateRounding::Calendar("hour", zone, 0);
  EXPECT_EQ(hour.Round(Utc("2024-11-03T05:30:00Z")), Utc("2024-11-03T05:00:00Z"));  // 01:30 EDT
  EXPECT_EQ(hour.Round(Utc("2024-11-03T06:30:00Z")), Utc("2024-11-03T06:00:00Z"));  // 01:30 EST
  // Month in a zone: local midnight of the first.
  auto month = *DateRounding::Calendar("month", zone, 0);
  EXPECT_EQ(month.Round(Utc("2024-03-01T03:00:00Z")), Utc("2024-02-01T05:00:00Z"));
  EXPECT_EQ(month.Next(Utc("2024-03-01T05:00:00Z")), Utc("2024-04-01T04:00:00Z"));
}

TEST(DateRoundingTest, FixedIntervalsAndOffsets) {
  auto zone = DateZone::Utc();
  auto r = *DateRounding::Fixed("90m", zone, 0);
  EXPECT_EQ(r.Round(Utc("2024-01-01T01:29:00Z")), Utc("2024-01-01T00:00:00Z"));
  EXPECT_EQ(r.Round(Utc("2024-01-01T01:30:00Z")), Utc("2024-01-01T01:30:00Z"));
  EXPECT_EQ(r.Next(Utc("2024-01-01T01:30:00Z")), Utc("2024-01-01T03:00:00Z"));
  auto with_offset = *DateRounding::Calendar("day", zone, 6 * 3600 * 1000);
  EXPECT_EQ(with_offset.Round(Utc("2024-01-02T05:00:00Z")), Utc("2024-01-01T06:00:00Z"));
  EXPECT_EQ(with_offset.Round(Utc("2024-01-02T07:00:00Z")), Utc("2024-01-02T06:00:00Z"));
  EXPECT_FALSE(DateRounding::Fixed("1M", zone, 0).ok());
  auto plus_one = *DateRounding::Fixed("1d", *DateZone::Create("+01:00"), 0);
  EXPECT_EQ(plus_one.Round(Utc("2024-01-01T23:30:00Z")), Utc("2024-01-01T23:00:00Z"));
}

TEST(DateRoundingTest, CacheDoesNotChangeAnswers) {
  auto zone = *DateZone::Create("Europe/Berlin");
  auto cached = *DateRounding::Calendar("day", zone, 0);
  for (int64_t t = Utc("2024-03-28"); t < Utc("2024-04-03"); t += 17 * 60 * 1000) {
    auto fresh = *DateRounding::Calendar("day", zone, 0);
    ASSERT_EQ(cached.Round(t), fresh.Round(t)) << t;
  }
}

TEST(DateMathTest, NowAndAnchors) {
  auto zone = DateZone::Utc();
  auto parser = *DateFormatter::Create("", zone);
  const int64_t now = Utc("2024-05-15T13:45:30Z");
  auto dm = [&](const char* s, bool up = false) {
    auto v = ParseDateMath(s, now, *parser, *zone, up);
    EXPECT_TRUE(v.ok()) << s << v.status();
    return v.ok() ? *v : 0;
  };
  EXPECT_EQ(dm("now"), now);
  EXPECT_EQ(dm("now-1d"), Utc("2024-05-14T13:45:30Z"));
  EXPECT_EQ(dm("now/d"), Utc("2024-05-15"));
  EXPECT_EQ(dm("now/d", true), Utc("2024-05-16") - 1);
  EXPECT_EQ(dm("now-1M/M"), Utc("2024-04-01"));
  EXPECT_EQ(dm("2024-01-31||+1M"), Utc("2024-02-29"));
  EXPECT_EQ(dm("2024-01-01||+1y-1d"), Utc("2024-12-31"));
  EXPECT_FALSE(ParseDateMath("now+1x", now, *parser, *zone, false).ok());
}

TEST(JavaDoubleTest, MatchesDoubleToString) {
  EXPECT_EQ(JavaDouble(100), "100.0");
  EXPECT_EQ(JavaDouble(1.5), "1.5");
  EXPECT_EQ(JavaDouble(-0.25), "-0.25");
  EXPECT_EQ(JavaDouble(1e7), "1.0E7");
  EXPECT_EQ(JavaDouble(1.25e7), "1.25E7");
  EXPECT_EQ(JavaDouble(9999999), "9999999.0");
  EXPECT_EQ(JavaDouble(0.001), "0.001");
  EXPECT_EQ(JavaDouble(0.0001), "1.0E-4");
  EXPECT_EQ(JavaDouble(99.9), "99.9");
  EXPECT_EQ(JavaDouble(0), "0.0");
  EXPECT_EQ(JavaDouble(1704067200000.0), "1.7040672E12");
}

}  // namespace
}  // namespace quidditch::engine::aggs
