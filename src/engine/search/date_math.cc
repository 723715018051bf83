#include "engine/search/date_math.h"

#include <cctype>
#include <chrono>

#include "engine/mapping/mapping.h"

namespace quidditch::engine {

namespace {

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

struct Civil {
  int64_t days;  // days since epoch
  int64_t ms_of_day;
};

Civil Split(int64_t millis) {
  int64_t days = FloorDiv(millis, kDay);
  return {days, millis - days * kDay};
}

std::chrono::year_month_day ToYmd(int64_t days) {
  return std::chrono::year_month_day(std::chrono::sys_days(std::chrono::days(days)));
}
int64_t FromYmd(const std::chrono::year_month_day& ymd) {
  return std::chrono::sys_days(ymd).time_since_epoch().count();
}

// Adds `n` months keeping the day of month, clamped to the month's last day (java.time).
int64_t AddMonths(int64_t local_millis, int64_t n) {
  Civil c = Split(local_millis);
  auto ymd = ToYmd(c.days);
  auto ym = std::chrono::year_month(ymd.year(), ymd.month()) + std::chrono::months(n);
  auto last = std::chrono::year_month_day_last(ym.year(), std::chrono::month_day_last(ym.month()));
  auto day = std::min(ymd.day(), last.day());
  return FromYmd(std::chrono::year_month_day(ym.year(), ym.month(), day)) * kDay + c.ms_of_day;
}

// Start of the unit holding local_millis.
Result<int64_t> RoundDown(int64_t local_millis, char unit) {
  Civil c = Split(local_millis);
  switch (unit) {
    case 'y': {
      auto ymd = ToYmd(c.days);
      return FromYmd(std::chrono::year_month_day(ymd.year(), std::chrono::January,
                                                 std::chrono::day(1))) *
             kDay;
    }
    case 'M': {
      auto ymd = ToYmd(c.days);
      return FromYmd(std::chrono::year_month_day(ymd.year(), ymd.month(), std::chrono::day(1))) *
             kDay;
    }
    case 'w': {
      // ISO weeks start on Monday; 1970-01-01 was a Thursday.
      int64_t dow = (c.days + 3) % 7;
      if (dow < 0) dow += 7;
      return (c.days - dow) * kDay;
    }
    case 'd':
      return c.days * kDay;
    case 'h':
    case 'H':
      return FloorDiv(local_millis, kHour) * kHour;
    case 'm':
      return FloorDiv(local_millis, kMinute) * kMinute;
    case 's':
      return FloorDiv(local_millis, kSecond) * kSecond;
    default:
      return Status::InvalidArgument(std::string("unit [") + unit +
                                     "] not supported for date math");
  }
}

Result<int64_t> Add(int64_t local_millis, int64_t n, char unit) {
  switch (unit) {
    case 'y':
      return AddMonths(local_millis, 12 * n);
    case 'M':
      return AddMonths(local_millis, n);
    case 'w':
      return local_millis + n * 7 * kDay;
    case 'd':
      return local_millis + n * kDay;
    case 'h':
    case 'H':
      return local_millis + n * kHour;
    case 'm':
      return local_millis + n * kMinute;
    case 's':
      return local_millis + n * kSecond;
    default:
      return Status::InvalidArgument(std::string("unit [") + unit +
                                     "] not supported for date math");
  }
}

// Whether a date string carries its own zone ("Z" or "+hh:mm" after the time).
bool HasOwnZone(std::string_view s) {
  size_t t = s.find('T');
  if (t == std::string_view::npos) return false;
  std::string_view time = s.substr(t);
  return time.find('Z') != std::string_view::npos || time.find('+') != std::string_view::npos ||
         time.find('-') != std::string_view::npos;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  size_t i = s[0] == '-' ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

}  // namespace

Result<int64_t> ParseTimeZoneOffsetMillis(std::string_view tz) {
  if (tz == "Z" || tz == "UTC" || tz == "utc" || tz == "GMT" || tz == "Etc/UTC") return 0;
  if (tz.empty() || (tz[0] != '+' && tz[0] != '-')) {
    return Status::InvalidArgument("time_zone [" + std::string(tz) +
                                   "] is not supported (only fixed offsets like +01:00)");
  }
  int sign = tz[0] == '-' ? -1 : 1;
  std::string digits;
  for (char c : tz.substr(1)) {
    if (c == ':') continue;
    if (!std::isdigit(static_cast<unsigned char>(c))) {
      return Status::InvalidArgument("invalid time_zone [" + std::string(tz) + "]");
    }
    digits += c;
  }
  if (digits.size() != 2 && digits.size() != 4) {
    return Status::InvalidArgument("invalid time_zone [" + std::string(tz) + "]");
  }
  int64_t hours = std::stoi(digits.substr(0, 2));
  int64_t minutes = digits.size() == 4 ? std::stoi(digits.substr(2)) : 0;
  if (hours > 18 || minutes > 59) {
    return Status::InvalidArgument("invalid time_zone [" + std::string(tz) + "]");
  }
  return sign * (hours * kHour + minutes * kMinute);
}

Result<int64_t> ParseDateMath(std::string_view expr, bool round_up,
                              const std::vector<std::string>& formats, int64_t now_millis,
                              int64_t tz_offset_millis) {
  std::string_view math;
  int64_t utc;
  if (expr.starts_with("now")) {
    utc = now_millis;
    math = expr.substr(3);
  } else {
    size_t sep = expr.find("||");
    std::string_view date = sep == std::string_view::npos ? expr : expr.substr(0, sep);
    math = sep == std::string_view::npos ? std::string_view() : expr.substr(sep + 2);
    Result<int64_t> parsed = ParseDate(date, formats);
    if (!parsed.ok()) return parsed.status();
    utc = *parsed;
    // A local date-time without its own zone is in time_zone (epoch numbers are UTC).
    if (!AllDigits(date) && !HasOwnZone(date)) utc -= tz_offset_millis;
  }
  int64_t local = utc + tz_offset_millis;
  size_t i = 0;
  while (i < math.size()) {
    char op = math[i++];
    if (op == '/') {
      if (i >= math.size()) {
        return Status::InvalidArgument("truncated date math [" + std::string(expr) + "]");
      }
      char unit = math[i++];
      QD_ASSIGN_OR_RETURN(int64_t down, RoundDown(local, unit));
      if (round_up) {
        QD_ASSIGN_OR_RETURN(int64_t next, Add(down, 1, unit));
        local = next - 1;
      } else {
        local = down;
      }
    } else if (op == '+' || op == '-') {
      int64_t n = 0;
      size_t start = i;
      while (i < math.size() && std::isdigit(static_cast<unsigned char>(math[i]))) {
        n = n * 10 + (math[i++] - '0');
      }
      if (i == start) n = 1;
      if (i >= math.size()) {
        return Status::InvalidArgument("truncated date math [" + std::string(expr) + "]");
      }
      char unit = math[i++];
      QD_ASSIGN_OR_RETURN(local, Add(local, op == '-' ? -n : n, unit));
    } else {
      return Status::InvalidArgument("operator not supported for date math [" + std::string(expr) +
                                     "]");
    }
  }
  return local - tz_offset_millis;
}

}  // namespace quidditch::engine
