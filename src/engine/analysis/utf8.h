// UTF-8 helpers of the analysis module: decoding with U+FFFD for each bad byte, encoding,
// and the UTF-16 length Lucene measures tokens in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace quidditch::engine::analysis {

inline constexpr char32_t kReplacementChar = 0xFFFD;

// Decodes the code point at `s[*i]` and advances `*i` past it. A byte that does not start a
// well-formed sequence (overlong, surrogate, beyond U+10FFFF, truncated) decodes to U+FFFD
// and advances one byte. REQUIRES: *i < s.size().
inline char32_t DecodeUtf8(std::string_view s, size_t* i) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size();
  size_t k = *i;
  unsigned char b0 = p[k];
  if (b0 < 0x80) {
    *i = k + 1;
    return b0;
  }
  auto cont = [&](size_t j) { return j < n && (p[j] & 0xC0) == 0x80; };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (cont(k + 1)) {
      *i = k + 2;
      return (char32_t(b0 & 0x1F) << 6) | (p[k + 1] & 0x3F);
    }
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (cont(k + 1) && cont(k + 2)) {
      char32_t c =
          (char32_t(b0 & 0x0F) << 12) | (char32_t(p[k + 1] & 0x3F) << 6) | (p[k + 2] & 0x3F);
      if (c >= 0x800 && (c < 0xD800 || c > 0xDFFF)) {
        *i = k + 3;
        return c;
      }
    }
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (cont(k + 1) && cont(k + 2) && cont(k + 3)) {
      char32_t c = (char32_t(b0 & 0x07) << 18) | (char32_t(p[k + 1] & 0x3F) << 12) |
                   (char32_t(p[k + 2] & 0x3F) << 6) | (p[k + 3] & 0x3F);
      if (c >= 0x10000 && c <= 0x10FFFF) {
        *i = k + 4;
        return c;
      }
    }
  }
  *i = k + 1;
  return kReplacementChar;
}

inline void AppendUtf8(std::string* out, char32_t c) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

inline bool IsAscii(std::string_view s) {
  const char* p = s.data();
  size_t n = s.size();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    if (w & 0x8080808080808080ull) return false;
  }
  for (; i < n; ++i) {
    if (static_cast<unsigned char>(p[i]) >= 0x80) return false;
  }
  return true;
}

// `s` with every malformed byte replaced by U+FFFD.
inline std::string SanitizeUtf8(std::string_view s) {
  if (IsAscii(s)) return std::string(s);
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t start = i;
    char32_t c = DecodeUtf8(s, &i);
    if (c == kReplacementChar && i - start == 1) {
      AppendUtf8(&out, c);
    } else {
      out.append(s.substr(start, i - start));
    }
  }
  return out;
}

// Number of UTF-16 code units of `c` (Java's Character.charCount).
inline int Utf16Units(char32_t c) { return c >= 0x10000 ? 2 : 1; }

// Length of `s` in UTF-16 code units, as Lucene's CharTermAttribute.length() counts.
inline size_t Utf16Length(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size();) n += Utf16Units(DecodeUtf8(s, &i));
  return n;
}

}  // namespace quidditch::engine::analysis
