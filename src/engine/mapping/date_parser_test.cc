#include "engine/mapping/date_parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/mapping/mapping.h"

namespace quidditch::engine {
namespace {

using mapping_internal::DaysFromCivil;
using mapping_internal::ValidateDateFormat;
using ::testing::HasSubstr;

int64_t Ms(std::string_view value, std::vector<std::string> formats = {}) {
  Result<int64_t> r = ParseDate(value, formats);
  EXPECT_TRUE(r.ok()) << value << ": " << r.status();
  return r.ok() ? *r : -999;
}

bool Fails(std::string_view value, std::vector<std::string> formats = {}) {
  return !ParseDate(value, formats).ok();
}

TEST(DateParserTest, DaysFromCivilMatchesDayByDayCount) {
  // Reference: walk day by day from 1970-01-01 in both directions.
  auto days_in_month = [](int y, int m) {
    static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : kDays[m - 1];
  };
  int64_t n = 0;
  for (int y = 1970; y <= 2404; ++y) {
    for (int m = 1; m <= 12; ++m) {
      for (int d = 1; d <= days_in_month(y, m); ++d) {
        ASSERT_EQ(DaysFromCivil(y, m, d), n) << y << "-" << m << "-" << d;
        ++n;
      }
    }
  }
  n = -1;
  for (int y = 1969; y >= 1600; --y) {
    for (int m = 12; m >= 1; --m) {
      for (int d = days_in_month(y, m); d >= 1; --d) {
        ASSERT_EQ(DaysFromCivil(y, m, d), n) << y << "-" << m << "-" << d;
        --n;
      }
    }
  }
}

TEST(DateParserTest, StrictDateOptionalTime) {
  EXPECT_EQ(Ms("2015-01-01"), 1420070400000);
  EXPECT_EQ(Ms("2015"), 1420070400000);
  EXPECT_EQ(Ms("2015-03"), 1425168000000);
  EXPECT_EQ(Ms("2015-01-01T12:10:30Z"), 1420114230000);
  EXPECT_EQ(Ms("2015-01-01T12:10:30"), 1420114230000);
  EXPECT_EQ(Ms("2015-01-01T12:10"), 1420114200000);
  EXPECT_EQ(Ms("2015-01-01T12"), 1420113600000);
  EXPECT_EQ(Ms("2015-01-01T12:10:30.123Z"), 1420114230123);
  EXPECT_EQ(Ms("2015-01-01T12:10:30.1Z"), 1420114230100);
  EXPECT_EQ(Ms("2015-01-01T12:10:30.123456789Z"), 1420114230123);
  EXPECT_TRUE(Fails("2015-01-01T12:10:30.1234567890Z"));  // 10 fraction digits
  // Offsets: local time minus the offset is UTC.
  EXPECT_EQ(Ms("2015-01-01T12:10:30.123+01:00"), 1420114230123 - 3600000);
  EXPECT_EQ(Ms("2015-01-01T12:10:30-08:00"), 1420114230000 + 8 * 3600000);
  EXPECT_EQ(Ms("2015-01-01T12:10:30+0530"), 1420114230000 - 5 * 3600000 - 30 * 60000);
  EXPECT_EQ(Ms("2015-01-01T00:00:00+01"), 1420070400000 - 3600000);
  // Strict: two-digit fields.
  EXPECT_TRUE(Fails("2015-1-1", {"strict_date_optional_time"}));
  EXPECT_TRUE(Fails("15-01-01", {"strict_date_optional_time"}));
  EXPECT_EQ(Ms("2015-1-5", {"date_optional_time"}), 1420070400000 + 4 * 86400000LL);
}

TEST(DateParserTest, LeapYearsAndInvalidDates) {
  EXPECT_EQ(Ms("2016-02-29"), 1456704000000);
  EXPECT_EQ(Ms("2000-02-29"), 951782400000);
  EXPECT_TRUE(Fails("2015-02-29", {"strict_date_optional_time"}));
  EXPECT_TRUE(Fails("1900-02-29", {"strict_date_optional_time"}));
  EXPECT_TRUE(Fails("2015-13-01", {"strict_date_optional_time"}));
  EXPECT_TRUE(Fails("2015-04-31", {"strict_date_optional_time"}));
  EXPECT_TRUE(Fails("2015-01-01T24:00:00", {"strict_date_optional_time"}));
  EXPECT_TRUE(Fails("2015-01-01T12:60", {"strict_date_optional_time"}));
  EXPECT_TRUE(Fails("2015-01-01x"));
  EXPECT_TRUE(Fails("abc"));
  EXPECT_TRUE(Fails(""));
}

TEST(DateParserTest, NegativeEpochs) {
  EXPECT_EQ(Ms("1969-12-31T23:59:59.999Z"), -1);
  EXPECT_EQ(Ms("1960-01-01"), -315619200000);
  EXPECT_EQ(Ms("1600-03-01"), DaysFromCivil(1600, 3, 1) * 86400000);
  EXPECT_EQ(Ms("-1000"), -1000);  // not a date: epoch_millis
  EXPECT_EQ(Ms("-1.5", {"epoch_second"}), -1500);
}

TEST(DateParserTest, EpochFormats) {
  EXPECT_EQ(Ms("1420070400001"), 1420070400001);
  EXPECT_EQ(Ms("1420070400001", {"epoch_millis"}), 1420070400001);
  EXPECT_EQ(Ms("1420070400001.999", {"epoch_millis"}), 1420070400001);
  EXPECT_EQ(Ms("1420070400", {"epoch_second"}), 1420070400000);
  EXPECT_EQ(Ms("1.5", {"epoch_second"}), 1500);
  EXPECT_EQ(Ms("0", {"epoch_millis"}), 0);
  EXPECT_TRUE(Fails("12a", {"epoch_millis"}));
  EXPECT_TRUE(Fails("99999999999999999999", {"epoch_millis"}));  // beyond int64
  EXPECT_TRUE(Fails("9999999999999999", {"epoch_second"}));      // overflows as millis
  EXPECT_TRUE(Fails("2015-01-01", {"epoch_millis"}));
}

TEST(DateParserTest, NamedAndCustomPatterns) {
  EXPECT_EQ(Ms("20150101", {"basic_date"}), 1420070400000);
  EXPECT_TRUE(Fails("2015-01-01", {"basic_date"}));
  EXPECT_EQ(Ms("2015-01-01", {"strict_date"}), 1420070400000);
  EXPECT_TRUE(Fails("2015-01-01T00:00", {"strict_date"}));
  EXPECT_EQ(Ms("2015-01-01T12:10:30.000Z", {"strict_date_time"}), 1420114230000);
  EXPECT_EQ(Ms("2015-01-01T12:10:30Z", {"strict_date_time_no_millis"}), 1420114230000);
  EXPECT_EQ(Ms("2015-01-01T12:10:30", {"strict_date_hour_minute_second"}), 1420114230000);
  EXPECT_EQ(Ms("20150101T121030.000Z", {"basic_date_time"}), 1420114230000);
  EXPECT_EQ(Ms("2015-01-01 12:10:30", {"yyyy-MM-dd HH:mm:ss"}), 1420114230000);
  EXPECT_EQ(Ms("2015/01/01", {"yyyy/MM/dd"}), 1420070400000);
  EXPECT_EQ(Ms("01/02/2015", {"dd/MM/yyyy"}), 1420070400000 + 31 * 86400000LL);
  EXPECT_EQ(Ms("2015-01-01T12:10:30", {"yyyy-MM-dd'T'HH:mm:ss"}), 1420114230000);
  EXPECT_EQ(Ms("2015-01-01 12:10:30.5", {"yyyy-MM-dd HH:mm:ss.SSS"}), 1420114230500);
  EXPECT_EQ(Ms("2015-1-1", {"yyyy-M-d"}), 1420070400000);
  EXPECT_EQ(Ms("01 Feb 2015", {"dd MMM yyyy"}), 1420070400000 + 31 * 86400000LL);
  EXPECT_EQ(Ms("01 february 2015", {"dd MMMM yyyy"}), 1420070400000 + 31 * 86400000LL);
  EXPECT_EQ(Ms("Thu, 01 Jan 2015 12:10:30 +0000", {"EEE, dd MMM yyyy HH:mm:ss Z"}), 1420114230000);
  EXPECT_TRUE(Fails("01 Foo 2015", {"dd MMM yyyy"}));
  EXPECT_TRUE(Fails("2015-1-1", {"yyyy-MM-dd"}));
  EXPECT_TRUE(Fails("2015/01/01 extra", {"yyyy/MM/dd"}));
  // The second alternative of one entry, and the next entry.
  EXPECT_EQ(Ms("2015/01/01", {"yyyy-MM-dd||yyyy/MM/dd"}), 1420070400000);
  EXPECT_EQ(Ms("1420070400000", {"yyyy-MM-dd", "epoch_millis"}), 1420070400000);
}

TEST(DateParserTest, DynamicDateFormatsAcceptMissingOffset) {
  std::vector<std::string> dynamic = {"yyyy/MM/dd HH:mm:ss Z||yyyy/MM/dd Z"};
  EXPECT_EQ(Ms("2015/09/02", dynamic), 1441152000000);
  EXPECT_EQ(Ms("2015/01/01 12:10:30", dynamic), 1420114230000);
  EXPECT_EQ(Ms("2015/01/01 12:10:30 +0100", dynamic), 1420114230000 - 3600000);
  EXPECT_TRUE(Fails("2015/01/01 12", dynamic));
}

TEST(DateParserTest, ErrorNamesValueAndFormats) {
  Result<int64_t> r = ParseDate("abc", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(
      r.status().message(),
      "failed to parse date field [abc] with format [strict_date_optional_time||epoch_millis]");
}

TEST(DateParserTest, ValidateFormat) {
  EXPECT_TRUE(ValidateDateFormat("strict_date_optional_time").ok());
  EXPECT_TRUE(ValidateDateFormat("epoch_second").ok());
  EXPECT_TRUE(ValidateDateFormat("yyyy-MM-dd HH:mm:ss.SSSZ").ok());
  EXPECT_TRUE(ValidateDateFormat("yyyy-MM-dd'T'HH:mm").ok());
  EXPECT_THAT(ValidateDateFormat("foo").message(), HasSubstr("Invalid format: [foo]"));
  EXPECT_TRUE(ValidateDateFormat("yyyy-MMM-dd").ok());
  EXPECT_FALSE(ValidateDateFormat("yyyy-MM-dd a").ok());  // AM/PM not supported
  EXPECT_FALSE(ValidateDateFormat("yyyy-MM-dd'T").ok());
  EXPECT_FALSE(ValidateDateFormat("").ok());
}

}  // namespace
}  // namespace quidditch::engine
