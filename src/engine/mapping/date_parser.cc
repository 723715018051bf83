#include "engine/mapping/date_parser.h"

#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/mapping/mapping.h"

namespace quidditch::engine {
namespace mapping_internal {
namespace {

constexpr int64_t kMillisPerDay = 86'400'000;
constexpr int64_t kMaxYear = 100'000'000;  // keeps epoch milliseconds far inside int64

// The parts of a date as read from the text; unset parts keep their defaults.
struct DateParts {
  int64_t year = 1970;
  int month = 1;
  int day = 1;
  int hour = 0;
  int minute = 0;
  int second = 0;
  int64_t nanos = 0;
  int offset_seconds = 0;  // east of UTC
};

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

std::optional<int64_t> ToMillis(const DateParts& p) {
  if (p.year > kMaxYear || p.year < -kMaxYear) return std::nullopt;
  if (p.month < 1 || p.month > 12) return std::nullopt;
  if (p.day < 1 || p.day > DaysInMonth(p.year, p.month)) return std::nullopt;
  if (p.hour < 0 || p.hour > 23 || p.minute < 0 || p.minute > 59 || p.second < 0 || p.second > 59) {
    return std::nullopt;
  }
  int64_t days =
      DaysFromCivil(p.year, static_cast<unsigned>(p.month), static_cast<unsigned>(p.day));
  int64_t ms = days * kMillisPerDay + p.hour * 3'600'000LL + p.minute * 60'000LL +
               p.second * 1'000LL + p.nanos / 1'000'000;
  return ms - p.offset_seconds * 1'000LL;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads between min and max digits at *pos into *out.
bool ReadDigits(std::string_view s, size_t* pos, int min, int max, int64_t* out) {
  int64_t v = 0;
  int n = 0;
  while (n < max && *pos < s.size() && IsDigit(s[*pos])) {
    v = v * 10 + (s[*pos] - '0');
    ++*pos;
    ++n;
  }
  if (n < min) return false;
  *out = v;
  return true;
}

bool ReadInt(std::string_view s, size_t* pos, int min, int max, int* out) {
  int64_t v;
  if (!ReadDigits(s, pos, min, max, &v)) return false;
  *out = static_cast<int>(v);
  return true;
}

// A fraction of a second, 1 to 9 digits, as nanoseconds.
bool ReadFraction(std::string_view s, size_t* pos, int64_t* nanos) {
  size_t start = *pos;
  int64_t v;
  if (!ReadDigits(s, pos, 1, 9, &v)) return false;
  for (size_t n = *pos - start; n < 9; ++n) v *= 10;
  *nanos = v;
  return true;
}

// "Z", "+HH", "+HHmm", "+HH:mm" (or '-').
bool ReadOffset(std::string_view s, size_t* pos, int* offset_seconds) {
  if (*pos >= s.size()) return false;
  char c = s[*pos];
  if (c == 'Z' || c == 'z') {
    ++*pos;
    *offset_seconds = 0;
    return true;
  }
  if (c != '+' && c != '-') return false;
  ++*pos;
  int hours = 0, minutes = 0;
  if (!ReadInt(s, pos, 2, 2, &hours)) return false;
  if (*pos < s.size() && s[*pos] == ':') {
    ++*pos;
    if (!ReadInt(s, pos, 2, 2, &minutes)) return false;
  } else if (*pos < s.size() && IsDigit(s[*pos])) {
    if (!ReadInt(s, pos, 2, 2, &minutes)) return false;
  }
  if (hours > 18 || minutes > 59) return false;
  int total = hours * 3600 + minutes * 60;
  *offset_seconds = c == '-' ? -total : total;
  return true;
}

// strict_date_optional_time (strict) and date_optional_time: yyyy[-MM[-dd[T[HH[:mm[:ss[.S+]]]]
// [offset]]]].
std::optional<int64_t> ParseOptionalTime(std::string_view s, bool strict) {
  DateParts p;
  size_t pos = 0;
  if (!ReadDigits(s, &pos, strict ? 4 : 1, strict ? 4 : 9, &p.year)) return std::nullopt;
  const int two_min = strict ? 2 : 1;
  auto done = [&]() -> std::optional<int64_t> {
    return pos == s.size() ? ToMillis(p) : std::nullopt;
  };
  if (pos == s.size()) return ToMillis(p);
  if (s[pos++] != '-' || !ReadInt(s, &pos, two_min, 2, &p.month)) return std::nullopt;
  if (pos == s.size()) return ToMillis(p);
  if (s[pos++] != '-' || !ReadInt(s, &pos, two_min, 2, &p.day)) return std::nullopt;
  if (pos == s.size()) return ToMillis(p);
  if (s[pos++] != 'T') return std::nullopt;
  if (pos < s.size() && IsDigit(s[pos])) {
    if (!ReadInt(s, &pos, two_min, 2, &p.hour)) return std::nullopt;
    if (pos < s.size() && s[pos] == ':') {
      ++pos;
      if (!ReadInt(s, &pos, two_min, 2, &p.minute)) return std::nullopt;
      if (pos < s.size() && s[pos] == ':') {
        ++pos;
        if (!ReadInt(s, &pos, two_min, 2, &p.second)) return std::nullopt;
        if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
          ++pos;
          if (!ReadFraction(s, &pos, &p.nanos)) return std::nullopt;
        }
      }
    }
  }
  if (pos < s.size() && !ReadOffset(s, &pos, &p.offset_seconds)) return std::nullopt;
  return done();
}

// epoch_millis (scale 1) and epoch_second (scale 1000): an optionally signed integer with an
// optional fraction, which is truncated below a millisecond.
std::optional<int64_t> ParseEpoch(std::string_view s, int64_t scale) {
  size_t pos = 0;
  bool negative = false;
  if (pos < s.size() && s[pos] == '-') {
    negative = true;
    ++pos;
  }
  size_t int_start = pos;
  while (pos < s.size() && IsDigit(s[pos])) ++pos;
  if (pos == int_start) return std::nullopt;
  int64_t whole = 0;
  auto [ptr, ec] = std::from_chars(s.data() + int_start, s.data() + pos, whole);
  if (ec != std::errc() || ptr != s.data() + pos) return std::nullopt;
  int64_t frac_ms = 0;  // the fraction in milliseconds
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t frac_start = pos;
    while (pos < s.size() && IsDigit(s[pos])) ++pos;
    size_t digits = pos - frac_start;
    if (digits == 0 || digits > 9) return std::nullopt;
    if (scale == 1000) {
      for (size_t i = 0; i < 3; ++i) {
        frac_ms = frac_ms * 10 + (i < digits ? s[frac_start + i] - '0' : 0);
      }
    }
  }
  if (pos != s.size()) return std::nullopt;
  if (whole > (std::numeric_limits<int64_t>::max() - frac_ms) / scale) return std::nullopt;
  int64_t ms = whole * scale + frac_ms;
  return negative ? -ms : ms;
}

// One element of a Java-style pattern.
struct PatternElement {
  enum Kind : uint8_t {
    kLiteral,
    kYear,
    kMonth,
    kDay,
    kHour,
    kMinute,
    kSecond,
    kFraction,
    kOffset,
    kMonthName,  // MMM, MMMM: "Jan", "January" (English, any case)
    kDayName,    // E...: "Mon", "Monday" (read and not checked against the date)
  };
  Kind kind;
  int count = 0;          // letters in the run
  std::string_view text;  // kLiteral
};

bool IsNumeric(const PatternElement& e) {
  return e.kind != PatternElement::kLiteral && e.kind != PatternElement::kOffset &&
         e.kind != PatternElement::kMonthName && e.kind != PatternElement::kDayName;
}

// Reads the longest of `names` (full names before their 3-letter prefixes) at *pos, ignoring
// ASCII case; its index into `names`, or -1.
template <size_t N>
int ReadName(std::string_view s, size_t* pos, const std::string_view (&names)[N]) {
  auto matches = [&](std::string_view name) {
    if (s.size() - *pos < name.size()) return false;
    for (size_t i = 0; i < name.size(); ++i) {
      char a = s[*pos + i], b = name[i];
      if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
      if (b >= 'A' && b <= 'Z') b = static_cast<char>(b - 'A' + 'a');
      if (a != b) return false;
    }
    return true;
  };
  for (size_t i = 0; i < N; ++i) {
    if (matches(names[i])) {
      *pos += names[i].size();
      return static_cast<int>(i);
    }
  }
  for (size_t i = 0; i < N; ++i) {
    if (matches(names[i].substr(0, 3))) {
      *pos += 3;
      return static_cast<int>(i);
    }
  }
  return -1;
}

constexpr std::string_view kMonthNames[] = {"January",   "February", "March",    "April",
                                            "May",       "June",     "July",     "August",
                                            "September", "October",  "November", "December"};
constexpr std::string_view kDayNames[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                          "Friday", "Saturday", "Sunday"};

// Splits a pattern into elements; false on an unsupported letter or an unclosed quote.
bool TokenizePattern(std::string_view f, std::vector<PatternElement>* out, std::string* bad) {
  for (size_t i = 0; i < f.size();) {
    char c = f[i];
    if (c == '\'') {
      size_t end = f.find('\'', i + 1);
      if (end == std::string_view::npos) {
        *bad = "unclosed quote";
        return false;
      }
      if (end == i + 1) {
        out->push_back({PatternElement::kLiteral, 0, f.substr(i, 1)});  // '' is a quote
      } else {
        out->push_back({PatternElement::kLiteral, 0, f.substr(i + 1, end - i - 1)});
      }
      i = end + 1;
      continue;
    }
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!letter) {
      out->push_back({PatternElement::kLiteral, 0, f.substr(i, 1)});
      ++i;
      continue;
    }
    size_t j = i;
    while (j < f.size() && f[j] == c) ++j;
    int count = static_cast<int>(j - i);
    PatternElement::Kind kind;
    switch (c) {
      case 'y':
      case 'u':
        kind = PatternElement::kYear;
        break;
      case 'M':
        kind = count >= 3 ? PatternElement::kMonthName : PatternElement::kMonth;
        break;
      case 'd':
        kind = PatternElement::kDay;
        break;
      case 'H':
        kind = PatternElement::kHour;
        break;
      case 'm':
        kind = PatternElement::kMinute;
        break;
      case 's':
        kind = PatternElement::kSecond;
        break;
      case 'S':
        kind = PatternElement::kFraction;
        break;
      case 'Z':
      case 'X':
      case 'x':
        kind = PatternElement::kOffset;
        break;
      case 'E':
        kind = PatternElement::kDayName;
        break;
      default:
        *bad = std::string("Unknown pattern letter: ") + c;
        return false;
    }
    if (kind != PatternElement::kYear && kind != PatternElement::kFraction &&
        kind != PatternElement::kOffset && kind != PatternElement::kMonthName &&
        kind != PatternElement::kDayName && count > 2) {
      *bad = std::string("Too many pattern letters: ") + c;
      return false;
    }
    out->push_back({kind, count, {}});
    i = j;
  }
  return true;
}

std::optional<int64_t> ParsePattern(std::string_view s, std::string_view pattern, bool lenient) {
  std::vector<PatternElement> elements;
  std::string bad;
  if (!TokenizePattern(pattern, &elements, &bad)) return std::nullopt;
  DateParts p;
  size_t pos = 0;
  for (size_t i = 0; i < elements.size(); ++i) {
    const PatternElement& e = elements[i];
    if (pos == s.size()) {
      // The input may end before trailing spaces and offsets ("yyyy/MM/dd Z" accepts
      // "2015/09/02", as OpenSearch's dynamic date formats do).
      bool rest_optional = true;
      for (size_t k = i; k < elements.size(); ++k) {
        const PatternElement& r = elements[k];
        if (!(r.kind == PatternElement::kOffset ||
              (r.kind == PatternElement::kLiteral && r.text == " "))) {
          rest_optional = false;
        }
      }
      if (rest_optional) break;
      return std::nullopt;
    }
    // A number followed directly by another number is read at its fixed width
    // ("yyyyMMdd"), as Java's adjacent value parsing.
    bool adjacent = i + 1 < elements.size() && IsNumeric(elements[i + 1]);
    int min = e.count, max = e.count;
    if (e.kind == PatternElement::kYear) {
      if (e.count == 2) {
        min = max = 2;
      } else {
        min = lenient ? 1 : std::min(e.count, 4);
        max = adjacent ? std::max(e.count, 4) : 9;
        if (adjacent) min = max;
      }
    } else if (e.count == 1 || lenient) {
      min = 1;
      max = adjacent ? e.count : 2;
      if (adjacent) min = max;
    }
    switch (e.kind) {
      case PatternElement::kLiteral:
        if (s.substr(pos, e.text.size()) != e.text) return std::nullopt;
        pos += e.text.size();
        break;
      case PatternElement::kYear:
        if (!ReadDigits(s, &pos, min, max, &p.year)) return std::nullopt;
        if (e.count == 2) p.year += 2000;
        break;
      case PatternElement::kMonth:
        if (!ReadInt(s, &pos, min, max, &p.month)) return std::nullopt;
        break;
      case PatternElement::kMonthName: {
        int m = ReadName(s, &pos, kMonthNames);
        if (m < 0) return std::nullopt;
        p.month = m + 1;
        break;
      }
      case PatternElement::kDayName:
        if (ReadName(s, &pos, kDayNames) < 0) return std::nullopt;
        break;
      case PatternElement::kDay:
        if (!ReadInt(s, &pos, min, max, &p.day)) return std::nullopt;
        break;
      case PatternElement::kHour:
        if (!ReadInt(s, &pos, min, max, &p.hour)) return std::nullopt;
        break;
      case PatternElement::kMinute:
        if (!ReadInt(s, &pos, min, max, &p.minute)) return std::nullopt;
        break;
      case PatternElement::kSecond:
        if (!ReadInt(s, &pos, min, max, &p.second)) return std::nullopt;
        break;
      case PatternElement::kFraction:
        if (!ReadFraction(s, &pos, &p.nanos)) return std::nullopt;
        break;
      case PatternElement::kOffset:
        if (!ReadOffset(s, &pos, &p.offset_seconds)) return std::nullopt;
        break;
    }
  }
  if (pos != s.size()) return std::nullopt;
  return ToMillis(p);
}

enum class Special { kNone, kStrictOptionalTime, kOptionalTime, kEpochMillis, kEpochSecond };

struct NamedFormat {
  std::string_view name;
  Special special;
  std::string_view pattern;
  bool lenient;
};

constexpr NamedFormat kNamedFormats[] = {
    {"strict_date_optional_time", Special::kStrictOptionalTime, {}, false},
    {"strict_date_optional_time_nanos", Special::kStrictOptionalTime, {}, false},
    {"date_optional_time", Special::kOptionalTime, {}, true},
    {"epoch_millis", Special::kEpochMillis, {}, false},
    {"epoch_second", Special::kEpochSecond, {}, false},
    {"strict_date", Special::kNone, "yyyy-MM-dd", false},
    {"date", Special::kNone, "yyyy-MM-dd", true},
    {"basic_date", Special::kNone, "yyyyMMdd", false},
    {"basic_date_time", Special::kNone, "yyyyMMdd'T'HHmmss.SSSZ", false},
    {"basic_date_time_no_millis", Special::kNone, "yyyyMMdd'T'HHmmssZ", false},
    {"strict_date_time", Special::kNone, "yyyy-MM-dd'T'HH:mm:ss.SSSZ", false},
    {"date_time", Special::kNone, "yyyy-MM-dd'T'HH:mm:ss.SSSZ", true},
    {"strict_date_time_no_millis", Special::kNone, "yyyy-MM-dd'T'HH:mm:ssZ", false},
    {"date_time_no_millis", Special::kNone, "yyyy-MM-dd'T'HH:mm:ssZ", true},
    {"strict_date_hour", Special::kNone, "yyyy-MM-dd'T'HH", false},
    {"date_hour", Special::kNone, "yyyy-MM-dd'T'HH", true},
    {"strict_date_hour_minute", Special::kNone, "yyyy-MM-dd'T'HH:mm", false},
    {"date_hour_minute", Special::kNone, "yyyy-MM-dd'T'HH:mm", true},
    {"strict_date_hour_minute_second", Special::kNone, "yyyy-MM-dd'T'HH:mm:ss", false},
    {"date_hour_minute_second", Special::kNone, "yyyy-MM-dd'T'HH:mm:ss", true},
    {"strict_date_hour_minute_second_millis", Special::kNone, "yyyy-MM-dd'T'HH:mm:ss.SSS", false},
    {"date_hour_minute_second_millis", Special::kNone, "yyyy-MM-dd'T'HH:mm:ss.SSS", true},
    {"strict_date_hour_minute_second_fraction", Special::kNone, "yyyy-MM-dd'T'HH:mm:ss.SSS", false},
    {"date_hour_minute_second_fraction", Special::kNone, "yyyy-MM-dd'T'HH:mm:ss.SSS", true},
    {"strict_year_month", Special::kNone, "yyyy-MM", false},
    {"year_month", Special::kNone, "yyyy-MM", true},
    {"strict_year_month_day", Special::kNone, "yyyy-MM-dd", false},
    {"year_month_day", Special::kNone, "yyyy-MM-dd", true},
    {"strict_year", Special::kNone, "yyyy", false},
    {"year", Special::kNone, "yyyy", true},
    {"strict_hour_minute_second", Special::kNone, "HH:mm:ss", false},
    {"hour_minute_second", Special::kNone, "HH:mm:ss", true},
};

const NamedFormat* FindNamed(std::string_view name) {
  for (const NamedFormat& f : kNamedFormats) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

}  // namespace

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

Status ValidateDateFormat(std::string_view format) {
  if (FindNamed(format) != nullptr) return Status::OK();
  std::vector<PatternElement> elements;
  std::string bad;
  if (format.empty()) bad = "empty pattern";
  if (bad.empty() && TokenizePattern(format, &elements, &bad)) return Status::OK();
  return Status::InvalidArgument("Invalid format: [" + std::string(format) + "]: " + bad);
}

std::optional<int64_t> ParseDateWithFormat(std::string_view value, std::string_view format) {
  if (const NamedFormat* named = FindNamed(format)) {
    switch (named->special) {
      case Special::kStrictOptionalTime:
        return ParseOptionalTime(value, /*strict=*/true);
      case Special::kOptionalTime:
        return ParseOptionalTime(value, /*strict=*/false);
      case Special::kEpochMillis:
        return ParseEpoch(value, 1);
      case Special::kEpochSecond:
        return ParseEpoch(value, 1000);
      case Special::kNone:
        return ParsePattern(value, named->pattern, named->lenient);
    }
  }
  return ParsePattern(value, format, /*lenient=*/false);
}

}  // namespace mapping_internal

Result<int64_t> ParseDate(std::string_view value, const std::vector<std::string>& formats) {
  static const std::vector<std::string> kDefault = {"strict_date_optional_time", "epoch_millis"};
  const std::vector<std::string>& fs = formats.empty() ? kDefault : formats;
  for (const std::string& f : fs) {
    // An entry may itself hold alternatives ("a||b").
    std::string_view rest = f;
    while (true) {
      size_t bar = rest.find("||");
      std::string_view one = rest.substr(0, bar);
      if (auto ms = mapping_internal::ParseDateWithFormat(value, one)) return *ms;
      if (bar == std::string_view::npos) break;
      rest.remove_prefix(bar + 2);
    }
  }
  std::string joined;
  for (const std::string& f : fs) {
    if (!joined.empty()) joined += "||";
    joined += f;
  }
  return Status::InvalidArgument("failed to parse date field [" + std::string(value) +
                                 "] with format [" + joined + "]");
}

}  // namespace quidditch::engine
