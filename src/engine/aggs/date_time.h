// Dates for aggregations: time zones, calendar and fixed-interval rounding (date_histogram),
// formatting of keys (key_as_string) and parsing of date math (date_range).
//
// Time zone offsets and DST come from ICU's tz database. Calendar arithmetic on local dates is
// done here on proleptic Gregorian days (as java.time does), which ICU's Calendar would not
// give without its Julian switch.
//
// Thread safety: a DateRounding caches the interval it last computed and must be used by one
// thread at a time; DateZone and DateFormatter are immutable after creation.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace quidditch::engine::aggs {

// Proleptic Gregorian civil date <-> days since 1970-01-01.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);
void CivilFromDays(int64_t days, int64_t* y, unsigned* m, unsigned* d);

// A time zone: "UTC", "Z", "+01:00", "-0530", "America/New_York". Shared, immutable.
class DateZone {
 public:
  // InvalidArgument (illegal_argument_exception) for an unknown id.
  static Result<std::shared_ptr<const DateZone>> Create(std::string_view id);
  static std::shared_ptr<const DateZone> Utc();
  ~DateZone();

  const std::string& id() const { return id_; }
  bool is_utc() const { return fixed_ && fixed_offset_ == 0; }
  // The offset from UTC in ms at instant `utc_ms`.
  int64_t OffsetAt(int64_t utc_ms) const;
  // The instant of local wall time `local_ms` (a local time in a DST gap maps to after the gap;
  // in an overlap, the earlier instant).
  int64_t LocalToUtc(int64_t local_ms) const;

 private:
  struct Impl;
  DateZone() = default;
  std::string id_;
  bool fixed_ = false;
  int64_t fixed_offset_ = 0;
  std::unique_ptr<Impl> impl_;
};

enum class CalendarUnit { kSecond, kMinute, kHour, kDay, kWeek, kMonth, kQuarter, kYear };

// date_histogram's rounding: calendar_interval or fixed_interval, in a time zone, with an
// offset in ms. Round(v) is the key of the bucket of v; Next(key) the key of the next bucket.
class DateRounding {
 public:
  // `calendar`: "minute"/"1m", "hour"/"1h", "day"/"1d", "week"/"1w", "month"/"1M",
  // "quarter"/"1q", "year"/"1y", "second"/"1s".
  static Result<DateRounding> Calendar(std::string_view calendar,
                                       std::shared_ptr<const DateZone> zone, int64_t offset_ms);
  // `fixed`: "90m", "1d", "30s", "1500ms" (a time value).
  static Result<DateRounding> Fixed(std::string_view fixed, std::shared_ptr<const DateZone> zone,
                                    int64_t offset_ms);

  int64_t Round(int64_t utc_ms);
  int64_t Next(int64_t key);

 private:
  int64_t RoundNoOffset(int64_t utc_ms) const;
  int64_t NextNoOffset(int64_t key) const;

  bool calendar_ = false;
  CalendarUnit unit_ = CalendarUnit::kDay;
  int64_t fixed_ms_ = 0;
  int64_t offset_ms_ = 0;
  std::shared_ptr<const DateZone> zone_;
  // Cache of the last bucket [cache_lo_, cache_hi_) -> cache_key_ (already offset).
  int64_t cache_lo_ = 1, cache_hi_ = 0, cache_key_ = 0;
};

// A time value as OpenSearch parses it ("90m", "1d", "30s", "1500ms", "2h"); nullopt-like
// InvalidArgument on anything else.
Result<int64_t> ParseTimeValueMillis(std::string_view value);

// Formats instants as a Java DateTimeFormatter pattern or named format would
// (strict_date_optional_time, date_optional_time, strict_date, date, epoch_millis,
// epoch_second, basic_date, strict_date_time, "yyyy-MM-dd HH:mm", ...) in a zone.
class DateFormatter {
 public:
  // The first format of `format` split on "||". Empty: strict_date_optional_time.
  static Result<std::shared_ptr<const DateFormatter>> Create(std::string_view format,
                                                             std::shared_ptr<const DateZone> zone);
  ~DateFormatter();
  std::string Format(int64_t utc_ms) const;
  // Parses `text` in this format (or as strict_date_optional_time / epoch millis as a
  // fallback) to an instant; local times without offset are in the zone.
  Result<int64_t> Parse(std::string_view text) const;

 private:
  struct Impl;
  DateFormatter() = default;
  std::unique_ptr<Impl> impl_;
};

// Date math as OpenSearch's range queries and date_range take it: "now-1d/d",
// "2024-01-01||+1M/M", "2024-01-01T10:00:00Z", epoch millis as a number string.
// `round_up` rounds "/d" to the last ms of the unit (for inclusive upper bounds); date_range
// uses false for both bounds as OpenSearch does.
Result<int64_t> ParseDateMath(std::string_view text, int64_t now_millis,
                              const DateFormatter& parser, const DateZone& zone, bool round_up);

}  // namespace quidditch::engine::aggs
