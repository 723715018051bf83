#include "engine/aggs/date_time.h"

#include <unicode/basictz.h>
#include <unicode/timezone.h>
#include <unicode/ucal.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <vector>

#include "engine/errors.h"

namespace quidditch::engine::aggs {
namespace {

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}
int64_t FloorMod(int64_t a, int64_t b) { return a - FloorDiv(a, b) * b; }

// "+01:00", "-0530", "+1", "Z", "UTC", "GMT" -> offset ms; false when not an offset.
bool ParseFixedOffset(std::string_view id, int64_t* offset) {
  if (id == "Z" || id == "UTC" || id == "GMT" || id == "Etc/UTC" || id == "Etc/GMT") {
    *offset = 0;
    return true;
  }
  if (id.starts_with("UTC") || id.starts_with("GMT")) id.remove_prefix(3);
  if (id.empty() || (id[0] != '+' && id[0] != '-')) return false;
  int sign = id[0] == '-' ? -1 : 1;
  std::string digits;
  for (char c : id.substr(1)) {
    if (c == ':') continue;
    if (c < '0' || c > '9') return false;
    digits.push_back(c);
  }
  int h = 0, m = 0;
  if (digits.size() == 1 || digits.size() == 2) {
    h = std::stoi(digits);
  } else if (digits.size() == 4) {
    h = std::stoi(digits.substr(0, 2));
    m = std::stoi(digits.substr(2));
  } else {
    return false;
  }
  if (h > 18 || m > 59) return false;
  *offset = sign * (h * kHour + m * kMinute);
  return true;
}

}  // namespace

// Howard Hinnant's days_from_civil / civil_from_days (public domain algorithms).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yy + (*m <= 2);
}

// ---------------------------------------------------------------------------------------------
// DateZone

struct DateZone::Impl {
  std::unique_ptr<icu::BasicTimeZone> tz;
};

DateZone::~DateZone() = default;

std::shared_ptr<const DateZone> DateZone::Utc() {
  static const std::shared_ptr<const DateZone> utc = [] {
    std::shared_ptr<DateZone> z(new DateZone());
    z->id_ = "Z";
    z->fixed_ = true;
    return std::shared_ptr<const DateZone>(z);
  }();
  return utc;
}

Result<std::shared_ptr<const DateZone>> DateZone::Create(std::string_view id) {
  std::shared_ptr<DateZone> z(new DateZone());
  z->id_ = std::string(id);
  int64_t offset = 0;
  if (ParseFixedOffset(id, &offset)) {
    z->fixed_ = true;
    z->fixed_offset_ = offset;
    return std::shared_ptr<const DateZone>(z);
  }
  std::unique_ptr<icu::TimeZone> tz(icu::TimeZone::createTimeZone(
      icu::UnicodeString::fromUTF8(icu::StringPiece(id.data(), id.size()))));
  auto* basic = dynamic_cast<icu::BasicTimeZone*>(tz.get());
  if (tz == nullptr || *tz == icu::TimeZone::getUnknown() || basic == nullptr) {
    return IllegalArgument("Unknown time-zone ID: " + std::string(id));
  }
  tz.release();
  z->impl_ = std::make_unique<Impl>();
  z->impl_->tz.reset(basic);
  return std::shared_ptr<const DateZone>(z);
}

int64_t DateZone::OffsetAt(int64_t utc_ms) const {
  if (fixed_) return fixed_offset_;
  int32_t raw = 0, dst = 0;
  UErrorCode ec = U_ZERO_ERROR;
  impl_->tz->getOffset(static_cast<UDate>(utc_ms), false, raw, dst, ec);
  if (U_FAILURE(ec)) return 0;  // only for dates outside ICU's range; UTC is the best guess
  return static_cast<int64_t>(raw) + dst;
}

int64_t DateZone::LocalToUtc(int64_t local_ms) const {
  if (fixed_) return local_ms - fixed_offset_;
  int32_t raw = 0, dst = 0;
  UErrorCode ec = U_ZERO_ERROR;
  // FORMER for both: a time in a gap keeps the offset before it (so it lands after the gap,
  // as java.time does); in an overlap the earlier instant.
  impl_->tz->getOffsetFromLocal(static_cast<UDate>(local_ms), UCAL_TZ_LOCAL_FORMER,
                                UCAL_TZ_LOCAL_FORMER, raw, dst, ec);
  if (U_FAILURE(ec)) return local_ms;
  return local_ms - (static_cast<int64_t>(raw) + dst);
}

// ---------------------------------------------------------------------------------------------
// DateRounding

Result<int64_t> ParseTimeValueMillis(std::string_view value) {
  size_t i = 0;
  while (i < value.size() && ((value[i] >= '0' && value[i] <= '9') || value[i] == '.')) ++i;
  std::string_view num = value.substr(0, i), unit = value.substr(i);
  double n = 0;
  auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), n);
  if (num.empty() || ec != std::errc() || p != num.data() + num.size()) {
    return QueryParsingError("failed to parse setting [interval] with value [" +
                             std::string(value) +
                             "] as a time value: unit is missing or unrecognized");
  }
  int64_t mult = 0;
  if (unit == "ms")
    mult = 1;
  else if (unit == "s")
    mult = kSecond;
  else if (unit == "m")
    mult = kMinute;
  else if (unit == "h")
    mult = kHour;
  else if (unit == "d")
    mult = kDay;
  else
    return QueryParsingError("failed to parse setting [interval] with value [" +
                             std::string(value) +
                             "] as a time value: unit is missing or unrecognized");
  double ms = n * static_cast<double>(mult);
  if (ms != std::floor(ms)) {
    return QueryParsingError("failed to parse [" + std::string(value) + "] as a time value");
  }
  return static_cast<int64_t>(ms);
}

Result<DateRounding> DateRounding::Calendar(std::string_view calendar,
                                            std::shared_ptr<const DateZone> zone,
                                            int64_t offset_ms) {
  DateRounding r;
  r.calendar_ = true;
  r.zone_ = std::move(zone);
  r.offset_ms_ = offset_ms;
  if (calendar == "second" || calendar == "1s")
    r.unit_ = CalendarUnit::kSecond;
  else if (calendar == "minute" || calendar == "1m")
    r.unit_ = CalendarUnit::kMinute;
  else if (calendar == "hour" || calendar == "1h")
    r.unit_ = CalendarUnit::kHour;
  else if (calendar == "day" || calendar == "1d")
    r.unit_ = CalendarUnit::kDay;
  else if (calendar == "week" || calendar == "1w")
    r.unit_ = CalendarUnit::kWeek;
  else if (calendar == "month" || calendar == "1M")
    r.unit_ = CalendarUnit::kMonth;
  else if (calendar == "quarter" || calendar == "1q")
    r.unit_ = CalendarUnit::kQuarter;
  else if (calendar == "year" || calendar == "1y")
    r.unit_ = CalendarUnit::kYear;
  else
    return IllegalArgument("The supplied interval [" + std::string(calendar) +
                           "] could not be parsed as a calendar interval.");
  return r;
}

Result<DateRounding> DateRounding::Fixed(std::string_view fixed,
                                         std::shared_ptr<const DateZone> zone, int64_t offset_ms) {
  DateRounding r;
  r.zone_ = std::move(zone);
  r.offset_ms_ = offset_ms;
  auto ms = ParseTimeValueMillis(fixed);
  if (!ms.ok() || *ms <= 0) {
    return IllegalArgument("failed to parse setting [date_histogram.fixedInterval] with value [" +
                           std::string(fixed) +
                           "] as a time value: unit is missing or unrecognized");
  }
  r.fixed_ms_ = *ms;
  return r;
}

int64_t DateRounding::RoundNoOffset(int64_t utc) const {
  const int64_t off = zone_->OffsetAt(utc);
  const int64_t local = utc + off;
  if (!calendar_) return zone_->LocalToUtc(FloorDiv(local, fixed_ms_) * fixed_ms_);
  switch (unit_) {
    case CalendarUnit::kSecond:
      return FloorDiv(local, kSecond) * kSecond - off;
    case CalendarUnit::kMinute:
      return FloorDiv(local, kMinute) * kMinute - off;
    case CalendarUnit::kHour:
      // The offset of the instant itself: in a DST overlap both 01:xx hours stay apart.
      return FloorDiv(local, kHour) * kHour - off;
    default:
      break;
  }
  int64_t days = FloorDiv(local, kDay);
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  switch (unit_) {
    case CalendarUnit::kDay:
      break;
    case CalendarUnit::kWeek:
      days -= FloorMod(days + 3, 7);  // 1970-01-01 was a Thursday; weeks start on Monday
      break;
    case CalendarUnit::kMonth:
      days = DaysFromCivil(y, m, 1);
      break;
    case CalendarUnit::kQuarter:
      days = DaysFromCivil(y, ((m - 1) / 3) * 3 + 1, 1);
      break;
    case CalendarUnit::kYear:
      days = DaysFromCivil(y, 1, 1);
      break;
    default:
      break;
  }
  return zone_->LocalToUtc(days * kDay);
}

int64_t DateRounding::NextNoOffset(int64_t key) const {
  if (!calendar_) {
    const int64_t local = key + zone_->OffsetAt(key);
    int64_t next = zone_->LocalToUtc(local + fixed_ms_);
    // A DST change can map the next local boundary back onto this key.
    if (next <= key) next = key + fixed_ms_;
    return RoundNoOffset(next) > key ? RoundNoOffset(next) : next;
  }
  switch (unit_) {
    case CalendarUnit::kSecond:
      return key + kSecond;
    case CalendarUnit::kMinute:
      return key + kMinute;
    case CalendarUnit::kHour:
      return key + kHour;
    default:
      break;
  }
  const int64_t local = key + zone_->OffsetAt(key);
  int64_t days = FloorDiv(local, kDay);
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  auto add_months = [&](int months) {
    int64_t total = y * 12 + (m - 1) + months;
    return DaysFromCivil(FloorDiv(total, 12), static_cast<unsigned>(FloorMod(total, 12)) + 1, 1);
  };
  switch (unit_) {
    case CalendarUnit::kDay:
      days += 1;
      break;
    case CalendarUnit::kWeek:
      days += 7;
      break;
    case CalendarUnit::kMonth:
      days = add_months(1);
      break;
    case CalendarUnit::kQuarter:
      days = add_months(3);
      break;
    case CalendarUnit::kYear:
      days = DaysFromCivil(y + 1, 1, 1);
      break;
    default:
      break;
  }
  return zone_->LocalToUtc(days * kDay);
}

int64_t DateRounding::Round(int64_t utc) {
  if (utc >= cache_lo_ && utc < cache_hi_) return cache_key_;
  const int64_t key = RoundNoOffset(utc - offset_ms_);
  cache_lo_ = key + offset_ms_;
  cache_hi_ = NextNoOffset(key) + offset_ms_;
  cache_key_ = key + offset_ms_;
  if (!(utc >= cache_lo_ && utc < cache_hi_)) cache_hi_ = cache_lo_;  // odd zone: no caching
  return cache_key_;
}

int64_t DateRounding::Next(int64_t key) { return NextNoOffset(key - offset_ms_) + offset_ms_; }

// ---------------------------------------------------------------------------------------------
// DateFormatter: Java DateTimeFormatter patterns on the proleptic ISO calendar. Hand-written:
// ICU's SimpleDateFormat switches to the Julian calendar before 1582 and is not thread-safe.

namespace {

struct PatternToken {
  char letter = 0;  // 0: literal
  int count = 0;
  std::string literal;
};

std::vector<PatternToken> TokenizePattern(std::string_view p) {
  std::vector<PatternToken> out;
  for (size_t i = 0; i < p.size();) {
    char c = p[i];
    if (c == '\'') {
      size_t j = p.find('\'', i + 1);
      if (j == std::string_view::npos) j = p.size();
      PatternToken t;
      t.literal = std::string(p.substr(i + 1, j - i - 1));
      if (j == i + 1) t.literal = "'";
      out.push_back(t);
      i = j + 1;
      continue;
    }
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      size_t j = i;
      while (j < p.size() && p[j] == c) ++j;
      out.push_back(PatternToken{c, static_cast<int>(j - i), {}});
      i = j;
      continue;
    }
    if (c == '[' || c == ']') {  // optional sections: printed in full
      ++i;
      continue;
    }
    PatternToken t;
    t.literal = std::string(1, c);
    out.push_back(t);
    ++i;
  }
  return out;
}

std::string Pad(int64_t v, int width) {
  std::string s = std::to_string(v < 0 ? -v : v);
  while (static_cast<int>(s.size()) < width) s.insert(s.begin(), '0');
  if (v < 0) s.insert(s.begin(), '-');
  return s;
}

std::string FormatOffset(int64_t off_ms, bool z_for_zero, bool colon, bool minutes_optional) {
  if (off_ms == 0 && z_for_zero) return "Z";
  std::string s = off_ms < 0 ? "-" : "+";
  int64_t a = off_ms < 0 ? -off_ms : off_ms;
  int64_t h = a / kHour, m = (a % kHour) / kMinute;
  s += Pad(h, 2);
  if (minutes_optional && m == 0) return s;
  if (colon) s += ":";
  s += Pad(m, 2);
  return s;
}

const char* kMonths[] = {"January", "February", "March",     "April",   "May",      "June",
                         "July",    "August",   "September", "October", "November", "December"};
const char* kDays[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                       "Friday", "Saturday", "Sunday"};

std::string_view NamedPattern(std::string_view name) {
  if (name.starts_with("strict_")) name.remove_prefix(7);
  if (name == "date_optional_time" || name == "date_time" || name == "iso8601")
    return "yyyy-MM-dd'T'HH:mm:ss.SSSXXX";
  if (name == "date_time_no_millis") return "yyyy-MM-dd'T'HH:mm:ssXXX";
  if (name == "date") return "yyyy-MM-dd";
  if (name == "basic_date") return "yyyyMMdd";
  if (name == "basic_date_time") return "yyyyMMdd'T'HHmmss.SSSX";
  if (name == "year_month") return "yyyy-MM";
  if (name == "year") return "yyyy";
  if (name == "year_month_day") return "yyyy-MM-dd";
  if (name == "hour_minute") return "HH:mm";
  if (name == "hour_minute_second") return "HH:mm:ss";
  if (name == "date_hour") return "yyyy-MM-dd'T'HH";
  if (name == "date_hour_minute") return "yyyy-MM-dd'T'HH:mm";
  if (name == "date_hour_minute_second") return "yyyy-MM-dd'T'HH:mm:ss";
  if (name == "date_hour_minute_second_millis" || name == "date_hour_minute_second_fraction")
    return "yyyy-MM-dd'T'HH:mm:ss.SSS";
  return {};
}

// Parses strict_date_optional_time: yyyy[-MM[-dd[THH[:mm[:ss[.S{1,9}]]]]]][Z|+hh[:mm]].
// Sets *local_ms and, when the text has an offset, *offset_ms.
bool ParseIsoDate(std::string_view s, int64_t* local_ms, std::optional<int64_t>* offset_ms) {
  size_t i = 0;
  auto num = [&](int width, int64_t* out) {
    if (i + width > s.size()) return false;
    int64_t v = 0;
    for (int k = 0; k < width; ++k) {
      char c = s[i + k];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    i += width;
    *out = v;
    return true;
  };
  int64_t y = 0, mo = 1, d = 1, h = 0, mi = 0, se = 0, ms = 0;
  bool neg = false;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
    neg = s[i] == '-';
    ++i;
  }
  if (!num(4, &y)) return false;
  if (neg) y = -y;
  auto done = [&]() { return i == s.size(); };
  auto rest_offset = [&]() {
    if (done()) return true;
    std::string_view rest = s.substr(i);
    int64_t off = 0;
    if (!ParseFixedOffset(rest, &off)) return false;
    *offset_ms = off;
    return true;
  };
  if (!done() && s[i] == '-') {
    ++i;
    if (!num(2, &mo)) return false;
    if (!done() && s[i] == '-') {
      ++i;
      if (!num(2, &d)) return false;
      if (!done() && s[i] == 'T') {
        ++i;
        if (!num(2, &h)) return false;
        if (!done() && s[i] == ':') {
          ++i;
          if (!num(2, &mi)) return false;
          if (!done() && s[i] == ':') {
            ++i;
            if (!num(2, &se)) return false;
            if (!done() && (s[i] == '.' || s[i] == ',')) {
              ++i;
              int digits = 0;
              int64_t frac = 0;
              while (!done() && s[i] >= '0' && s[i] <= '9') {
                if (digits < 3) frac = frac * 10 + (s[i] - '0');
                ++digits;
                ++i;
              }
              if (digits == 0 || digits > 9) return false;
              for (int k = digits; k < 3; ++k) frac *= 10;
              ms = frac;
            }
          }
        }
      }
    }
  }
  if (!rest_offset()) return false;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59) return false;
  int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  int64_t y2;
  unsigned m2, d2;
  CivilFromDays(days, &y2, &m2, &d2);
  if (d2 != d) return false;  // 2023-02-30
  *local_ms = days * kDay + h * kHour + mi * kMinute + se * kSecond + ms;
  return true;
}

}  // namespace

struct DateFormatter::Impl {
  std::string name;  // the format as given
  bool epoch_millis = false;
  bool epoch_second = false;
  std::vector<PatternToken> tokens;
  std::shared_ptr<const DateZone> zone;
};

DateFormatter::~DateFormatter() = default;

Result<std::shared_ptr<const DateFormatter>> DateFormatter::Create(
    std::string_view format, std::shared_ptr<const DateZone> zone) {
  std::shared_ptr<DateFormatter> f(new DateFormatter());
  f->impl_ = std::make_unique<Impl>();
  Impl& impl = *f->impl_;
  size_t bar = format.find("||");
  std::string_view first = format.substr(0, bar);
  if (first.empty()) first = "strict_date_optional_time";
  impl.name = std::string(first);
  impl.zone = zone ? std::move(zone) : DateZone::Utc();
  if (first == "epoch_millis") {
    impl.epoch_millis = true;
  } else if (first == "epoch_second") {
    impl.epoch_second = true;
  } else {
    std::string_view pattern = NamedPattern(first);
    if (pattern.empty()) {
      // A pattern: every letter must be one we know.
      for (char c : first) {
        if (((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) &&
            std::string_view("yuMLdDHhkKmsSaEeXxZVz").find(c) == std::string_view::npos) {
          bool quoted = false;
          for (char q : first) quoted ^= q == '\'';
          (void)quoted;
          if (first.find('\'') == std::string_view::npos) {
            return IllegalArgument("Invalid format: [" + std::string(first) +
                                   "]: Unknown pattern letter: " + std::string(1, c));
          }
        }
      }
      pattern = first;
    }
    impl.tokens = TokenizePattern(pattern);
  }
  return std::shared_ptr<const DateFormatter>(f);
}

std::string DateFormatter::Format(int64_t utc_ms) const {
  const Impl& impl = *impl_;
  if (impl.epoch_millis) return std::to_string(utc_ms);
  if (impl.epoch_second) {
    if (utc_ms % 1000 == 0) return std::to_string(utc_ms / 1000);
    std::string s = std::to_string(FloorDiv(utc_ms, 1000)) + "." + Pad(FloorMod(utc_ms, 1000), 3);
    while (s.back() == '0') s.pop_back();
    return s;
  }
  const int64_t off = impl.zone->OffsetAt(utc_ms);
  const int64_t local = utc_ms + off;
  const int64_t days = FloorDiv(local, kDay);
  const int64_t in_day = FloorMod(local, kDay);
  int64_t y;
  unsigned mo, d;
  CivilFromDays(days, &y, &mo, &d);
  const int64_t h = in_day / kHour, mi = (in_day % kHour) / kMinute,
                se = (in_day % kMinute) / kSecond, ms = in_day % kSecond;
  std::string out;
  for (const PatternToken& t : impl.tokens) {
    switch (t.letter) {
      case 0:
        out += t.literal;
        break;
      case 'y':
      case 'u':
        out += t.count == 2 ? Pad(FloorMod(y, 100), 2) : Pad(y, t.count);
        break;
      case 'M':
      case 'L':
        if (t.count >= 4)
          out += kMonths[mo - 1];
        else if (t.count == 3)
          out += std::string(kMonths[mo - 1]).substr(0, 3);
        else
          out += Pad(mo, t.count);
        break;
      case 'd':
        out += Pad(d, t.count);
        break;
      case 'D':
        out += Pad(days - DaysFromCivil(y, 1, 1) + 1, t.count);
        break;
      case 'H':
        out += Pad(h, t.count);
        break;
      case 'k':
        out += Pad(h == 0 ? 24 : h, t.count);
        break;
      case 'h':
        out += Pad(h % 12 == 0 ? 12 : h % 12, t.count);
        break;
      case 'K':
        out += Pad(h % 12, t.count);
        break;
      case 'a':
        out += h < 12 ? "AM" : "PM";
        break;
      case 'm':
        out += Pad(mi, t.count);
        break;
      case 's':
        out += Pad(se, t.count);
        break;
      case 'S': {
        std::string frac = Pad(ms, 3) + "000000";
        out += frac.substr(0, std::min(t.count, 9));
        break;
      }
      case 'E':
      case 'e': {
        int dow = static_cast<int>(FloorMod(days + 3, 7));  // 0 = Monday
        out += t.count >= 4 ? std::string(kDays[dow]) : std::string(kDays[dow]).substr(0, 3);
        break;
      }
      case 'X':
        out += FormatOffset(off, true, t.count >= 3, t.count == 1);
        break;
      case 'x':
        out += FormatOffset(off, false, t.count >= 3, t.count == 1);
        break;
      case 'Z':
        out += t.count >= 5 ? FormatOffset(off, true, true, false)
                            : FormatOffset(off, false, false, false);
        break;
      case 'V':
      case 'z':
        out += impl.zone->id();
        break;
      default:
        out += std::string(t.count, t.letter);
    }
  }
  return out;
}

Result<int64_t> DateFormatter::Parse(std::string_view text) const {
  const Impl& impl = *impl_;
  auto fail = [&]() {
    return Status(IllegalArgument("failed to parse date field [" + std::string(text) +
                                  "] with format [" + impl.name + "]"));
  };
  auto parse_int = [](std::string_view s, int64_t* v) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
    return !s.empty() && ec == std::errc() && p == s.data() + s.size();
  };
  if (impl.epoch_millis || impl.epoch_second) {
    int64_t v = 0;
    if (!parse_int(text, &v)) return fail();
    return impl.epoch_second ? v * 1000 : v;
  }
  // Numeric patterns: walk the tokens.
  int64_t y = 1970, mo = 1, d = 1, h = 0, mi = 0, se = 0, ms = 0;
  std::optional<int64_t> offset;
  bool iso = NamedPattern(impl.name) == std::string_view("yyyy-MM-dd'T'HH:mm:ss.SSSXXX");
  if (iso) {
    int64_t local = 0;
    if (!ParseIsoDate(text, &local, &offset)) {
      int64_t v = 0;
      if (parse_int(text, &v)) return v;  // the default format's epoch_millis alternative
      return fail();
    }
    return offset ? local - *offset : impl.zone->LocalToUtc(local);
  }
  size_t i = 0;
  for (size_t k = 0; k < impl.tokens.size(); ++k) {
    const PatternToken& t = impl.tokens[k];
    if (t.letter == 0) {
      if (text.substr(i, t.literal.size()) != t.literal) return fail();
      i += t.literal.size();
      continue;
    }
    if (t.letter == 'X' || t.letter == 'Z' || t.letter == 'x') {
      size_t j = i;
      while (j < text.size() &&
             std::string_view("+-:Z0123456789").find(text[j]) != std::string_view::npos)
        ++j;
      int64_t off = 0;
      if (!ParseFixedOffset(text.substr(i, j - i), &off)) return fail();
      offset = off;
      i = j;
      continue;
    }
    // Digits: a fixed width when the next token is a letter too, else greedy.
    size_t j = i;
    if (j < text.size() && text[j] == '-' && (t.letter == 'y' || t.letter == 'u')) ++j;
    bool adjacent = k + 1 < impl.tokens.size() && impl.tokens[k + 1].letter != 0;
    size_t max = adjacent ? static_cast<size_t>(t.count) : text.size();
    while (j < text.size() && j - i < max && text[j] >= '0' && text[j] <= '9') ++j;
    int64_t v = 0;
    if (!parse_int(text.substr(i, j - i), &v)) return fail();
    if (t.letter == 'S') {
      for (size_t n = j - i; n < 3; ++n) v *= 10;
      for (size_t n = j - i; n > 3; --n) v /= 10;
    }
    i = j;
    switch (t.letter) {
      case 'y':
      case 'u':
        y = v;
        break;
      case 'M':
        mo = v;
        break;
      case 'd':
        d = v;
        break;
      case 'H':
        h = v;
        break;
      case 'm':
        mi = v;
        break;
      case 's':
        se = v;
        break;
      case 'S':
        ms = v;
        break;
      default:
        return fail();
    }
  }
  if (i != text.size() || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59)
    return fail();
  int64_t local = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * kDay +
                  h * kHour + mi * kMinute + se * kSecond + ms;
  return offset ? local - *offset : impl.zone->LocalToUtc(local);
}

Result<int64_t> ParseDateMath(std::string_view text, int64_t now_millis,
                              const DateFormatter& parser, const DateZone& zone, bool round_up) {
  int64_t t = 0;
  std::string_view math;
  if (text.starts_with("now")) {
    t = now_millis;
    math = text.substr(3);
  } else {
    size_t bars = text.find("||");
    std::string_view date = text.substr(0, bars);
    if (bars != std::string_view::npos) math = text.substr(bars + 2);
    QD_ASSIGN_OR_RETURN(t, parser.Parse(date));
  }
  // Math on local wall time in `zone`.
  int64_t local = t + zone.OffsetAt(t);
  auto bad = [&]() {
    return Status(QueryParsingError("failed to parse date field [" + std::string(text) + "]"));
  };
  for (size_t i = 0; i < math.size();) {
    char op = math[i++];
    if (op != '+' && op != '-' && op != '/') return bad();
    int64_t n = 1;
    if (op != '/') {
      size_t j = i;
      while (j < math.size() && math[j] >= '0' && math[j] <= '9') ++j;
      if (j > i) n = std::stoll(std::string(math.substr(i, j - i)));
      i = j;
    }
    if (i >= math.size()) return bad();
    char unit = math[i++];
    int64_t days = FloorDiv(local, kDay), in_day = FloorMod(local, kDay);
    int64_t y;
    unsigned mo, d;
    CivilFromDays(days, &y, &mo, &d);
    if (op == '/') {
      int64_t lo = 0, hi = 0;
      switch (unit) {
        case 'y':
          lo = DaysFromCivil(y, 1, 1) * kDay;
          hi = DaysFromCivil(y + 1, 1, 1) * kDay;
          break;
        case 'M':
          lo = DaysFromCivil(y, mo, 1) * kDay;
          hi = (mo == 12 ? DaysFromCivil(y + 1, 1, 1) : DaysFromCivil(y, mo + 1, 1)) * kDay;
          break;
        case 'w':
          lo = (days - FloorMod(days + 3, 7)) * kDay;
          hi = lo + 7 * kDay;
          break;
        case 'd':
          lo = days * kDay;
          hi = lo + kDay;
          break;
        case 'h':
        case 'H':
          lo = FloorDiv(local, kHour) * kHour;
          hi = lo + kHour;
          break;
        case 'm':
          lo = FloorDiv(local, kMinute) * kMinute;
          hi = lo + kMinute;
          break;
        case 's':
          lo = FloorDiv(local, kSecond) * kSecond;
          hi = lo + kSecond;
          break;
        default:
          return bad();
      }
      local = round_up ? hi - 1 : lo;
      continue;
    }
    const int64_t sign = op == '-' ? -1 : 1;
    switch (unit) {
      case 'y':
      case 'M': {
        int64_t total = y * 12 + (mo - 1) + sign * n * (unit == 'y' ? 12 : 1);
        int64_t ny = FloorDiv(total, 12);
        unsigned nm = static_cast<unsigned>(FloorMod(total, 12)) + 1;
        unsigned last = static_cast<unsigned>(
            (nm == 12 ? DaysFromCivil(ny + 1, 1, 1) : DaysFromCivil(ny, nm + 1, 1)) -
            DaysFromCivil(ny, nm, 1));
        local = DaysFromCivil(ny, nm, std::min(d, last)) * kDay + in_day;
        break;
      }
      case 'w':
        local += sign * n * 7 * kDay;
        break;
      case 'd':
        local += sign * n * kDay;
        break;
      case 'h':
      case 'H':
        local += sign * n * kHour;
        break;
      case 'm':
        local += sign * n * kMinute;
        break;
      case 's':
        local += sign * n * kSecond;
        break;
      default:
        return bad();
    }
  }
  if (math.empty()) return t;
  return zone.LocalToUtc(local);
}

}  // namespace quidditch::engine::aggs
