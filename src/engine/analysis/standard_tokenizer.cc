// Lucene's StandardTokenizer on ICU.
//
// ICU's default word rules differ from Lucene's grammar (both UAX#29) in ways that change
// tokens: ICU treats '@' as a letter and ':' as no MidLetter, and segments Han, Kana and
// South-East Asian scripts with dictionaries. So we compile our own rules: ICU's root word
// rules (ICU 72) with those tailorings undone, no dictionary, each Han ideograph and Hiragana
// character a word of its own, runs of Complex_Context characters one word, and emoji
// (Extended_Pictographic and regional-indicator pairs) kept as words, as Lucene's grammar
// does. Rule status 0 means "not a word".
//
// Text between ASCII whitespace that is all ASCII goes through a hand-written scanner of
// the same rules restricted to ASCII (the common case, and ICU over UTF-8 is slow); the
// test checks it against the ICU path on random ASCII text.

#include <unicode/brkiter.h>
#include <unicode/rbbi.h>
#include <unicode/uchar.h>
#include <unicode/utext.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "engine/analysis/components.h"
#include "engine/analysis/utf8.h"

namespace quidditch::engine::analysis {
namespace {

constexpr const char* kWordRules = R"RULES(
!!chain;
!!quoted_literals_only;
$Han = [:Han:];
$CR = [\p{Word_Break = CR}];
$LF = [\p{Word_Break = LF}];
$Newline = [\p{Word_Break = Newline}];
$Extend = [\p{Word_Break = Extend} - $Han];
$ZWJ = [\p{Word_Break = ZWJ}];
$Regional_Indicator = [\p{Word_Break = Regional_Indicator}];
$Format = [\p{Word_Break = Format}];
$Katakana = [\p{Word_Break = Katakana}];
$Hebrew_Letter = [\p{Word_Break = Hebrew_Letter}];
$Single_Quote = [\p{Word_Break = Single_Quote}];
$Double_Quote = [\p{Word_Break = Double_Quote}];
$MidNumLet = [\p{Word_Break = MidNumLet}];
$MidLetter = [\p{Word_Break = MidLetter}];
$MidNum = [\p{Word_Break = MidNum}];
$Numeric = [\p{Word_Break = Numeric}];
$ExtendNumLet = [\p{Word_Break = ExtendNumLet}];
$WSegSpace = [\p{Word_Break = WSegSpace}];
$Extended_Pict = [\p{Extended_Pictographic}];
$Hiragana = [:Hiragana:];
$Control = [\p{Grapheme_Cluster_Break = Control}];
$KanaKanji = [$Han $Hiragana $Katakana];
$SEAsian = [[:LineBreak = Complex_Context:] - $Extend - $Control];
$ALetterPlus = [\p{Word_Break = ALetter} - $KanaKanji - $SEAsian];
$ExFm = [$Extend $Format $ZWJ];
$CR $LF;
$ZWJ $Extended_Pict;
$WSegSpace $WSegSpace;
^$ExFm+;
[^$CR $LF $Newline $ExFm] $ExFm*;
$Numeric $ExFm* {100};
$ALetterPlus $ExFm* {200};
$Hebrew_Letter $ExFm* {200};
$Katakana $ExFm* {300};
$Hiragana $ExFm* {400};
$Han $ExFm* {400};
$SEAsian $ExFm* {200};
$SEAsian $ExFm* $SEAsian;
$Extended_Pict $ExFm* {500};
($ALetterPlus | $Hebrew_Letter) $ExFm* ($ALetterPlus | $Hebrew_Letter);
($ALetterPlus | $Hebrew_Letter) $ExFm* ($MidLetter | $MidNumLet | $Single_Quote) $ExFm* ($ALetterPlus | $Hebrew_Letter) {200};
$Hebrew_Letter $ExFm* $Single_Quote {200};
$Hebrew_Letter $ExFm* $Double_Quote $ExFm* $Hebrew_Letter;
$Numeric $ExFm* $Numeric;
($ALetterPlus | $Hebrew_Letter) $ExFm* $Numeric;
$Numeric $ExFm* ($ALetterPlus | $Hebrew_Letter);
$Numeric $ExFm* ($MidNum | $MidNumLet | $Single_Quote) $ExFm* $Numeric;
$Katakana $ExFm* $Katakana {300};
$ALetterPlus $ExFm* $ExtendNumLet {200};
$Hebrew_Letter $ExFm* $ExtendNumLet {200};
$Numeric $ExFm* $ExtendNumLet {100};
$Katakana $ExFm* $ExtendNumLet {300};
$ExtendNumLet $ExFm* $ExtendNumLet {200};
$ExtendNumLet $ExFm* $ALetterPlus {200};
$ExtendNumLet $ExFm* $Hebrew_Letter {200};
$ExtendNumLet $ExFm* $Numeric {100};
$ExtendNumLet $ExFm* $Katakana {300};
^$Regional_Indicator $ExFm* $Regional_Indicator {500};
.;
)RULES";

// The compiled rules, built once; each thread works on its own clone (a BreakIterator is
// not thread-safe) and its own UText.
const icu::BreakIterator& Prototype() {
  static const icu::BreakIterator* prototype = [] {
    UErrorCode status = U_ZERO_ERROR;
    UParseError parse_error;
    auto* bi = new icu::RuleBasedBreakIterator(icu::UnicodeString::fromUTF8(kWordRules),
                                               parse_error, status);
    if (U_FAILURE(status)) {
      // The rules are a constant checked by the tests; failing here is a build defect.
      std::fprintf(stderr, "standard tokenizer rules: %s at line %d\n", u_errorName(status),
                   parse_error.line);
      std::abort();
    }
    return bi;
  }();
  return *prototype;
}

struct ThreadState {
  std::unique_ptr<icu::BreakIterator> iterator{Prototype().clone()};
  UText* text = nullptr;
  ~ThreadState() {
    if (text != nullptr) utext_close(text);
  }
};

ThreadState& State() {
  thread_local ThreadState state;
  return state;
}

// Appends text[start, end) as one or more tokens of at most `max_len` UTF-16 units.
// Lowercases ASCII letters.
constexpr struct LowerTable {
  char map[256];
  constexpr LowerTable() : map() {
    for (int i = 0; i < 256; ++i) map[i] = static_cast<char>(i >= 'A' && i <= 'Z' ? i + 32 : i);
  }
} kLower;

void Emit(std::string_view text, size_t start, size_t end, uint32_t max_len, bool ascii,
          bool lowercase, std::vector<Token>* out) {
  while (start < end) {
    size_t cut = end;
    if (ascii) {
      if (end - start > max_len) cut = start + max_len;
    } else {
      size_t units = 0;
      for (size_t i = start; i < end;) {
        size_t before = i;
        char32_t c = DecodeUtf8(text, &i);
        units += Utf16Units(c);
        if (units > max_len) {
          cut = before;
          break;
        }
      }
      if (cut == start) cut = end;  // max_len 1 and a supplementary character: keep it whole
    }
    Token& t = out->emplace_back();
    if (ascii) {
      t.term.resize(cut - start);
      if (lowercase) {
        for (size_t k = 0; k < cut - start; ++k) {
          t.term[k] = kLower.map[static_cast<unsigned char>(text[start + k])];
        }
      } else {
        t.term.assign(text.data() + start, cut - start);
      }
    } else {
      t.term = SanitizeUtf8(text.substr(start, cut - start));
      if (lowercase) LowercaseTerm(&t.term);
    }
    t.position = 1;
    t.start_offset = static_cast<uint32_t>(start);
    t.end_offset = static_cast<uint32_t>(cut);
    start = cut;
  }
}

// True if text[start, end) holds only ExtendNumLet and Extend/Format/ZWJ characters: such a
// segment ("___") is a word to ICU but no token to Lucene.
bool OnlyConnectors(std::string_view text, size_t start, size_t end) {
  for (size_t i = start; i < end;) {
    char32_t c = DecodeUtf8(text, &i);
    int wb = u_getIntPropertyValue(c, UCHAR_WORD_BREAK);
    if (wb != U_WB_EXTENDNUMLET && wb != U_WB_EXTEND && wb != U_WB_FORMAT && wb != U_WB_ZWJ) {
      return false;
    }
  }
  return true;
}

constexpr int32_t kEmojiStatus = 500;

// Where the emoji of an emoji segment starts: at its first ZWJ, Extended_Pictographic or
// Regional_Indicator character.
size_t EmojiStart(std::string_view text, size_t start, size_t end) {
  for (size_t i = start; i < end;) {
    size_t before = i;
    char32_t c = DecodeUtf8(text, &i);
    if (c == 0x200D || u_hasBinaryProperty(c, UCHAR_EXTENDED_PICTOGRAPHIC) ||
        u_hasBinaryProperty(c, UCHAR_REGIONAL_INDICATOR)) {
      return before;
    }
  }
  return start;
}

bool HasWordChar(std::string_view text, size_t start, size_t end) {
  for (size_t i = start; i < end;) {
    char32_t c = DecodeUtf8(text, &i);
    if (u_isalnum(c)) return true;
  }
  return false;
}

void IcuSegment(std::string_view text, size_t begin, size_t end, uint32_t max_len, bool lowercase,
                std::vector<Token>* out) {
  ThreadState& state = State();
  UErrorCode status = U_ZERO_ERROR;
  state.text =
      utext_openUTF8(state.text, text.data() + begin, static_cast<int64_t>(end - begin), &status);
  if (U_FAILURE(status)) return;
  state.iterator->setText(state.text, status);
  if (U_FAILURE(status)) return;
  int32_t s = state.iterator->first();
  for (int32_t e = state.iterator->next(); e != icu::BreakIterator::DONE;
       s = e, e = state.iterator->next()) {
    int32_t rule_status = state.iterator->getRuleStatus();
    if (rule_status == 0) continue;
    size_t ts = begin + static_cast<size_t>(s);
    size_t te = begin + static_cast<size_t>(e);
    if (rule_status == kEmojiStatus) {
      // UAX#29 glues Extend/Format/ZWJ to the character before them (WB4), so " \u200D😀"
      // is one segment; Lucene's emoji rule starts the token at the ZWJ. Whatever comes
      // before it and would be a token of its own (a letter) is emitted separately.
      size_t start = EmojiStart(text, ts, te);
      if (start > ts) {
        if (HasWordChar(text, ts, start)) Emit(text, ts, start, max_len, false, lowercase, out);
        ts = start;
      }
    }
    unsigned char first = static_cast<unsigned char>(text[ts]);
    if ((first == '_' || first >= 0x80) && OnlyConnectors(text, ts, te)) continue;
    Emit(text, ts, te, max_len, false, lowercase, out);
  }
}

inline bool IsAsciiLetter(unsigned char c) { return ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'); }
inline bool IsAsciiDigit(unsigned char c) { return c >= '0' && c <= '9'; }
inline bool IsAsciiWordChar(unsigned char c) {
  return IsAsciiLetter(c) || IsAsciiDigit(c) || c == '_';
}

// UAX#29 on ASCII text: letters, digits and '_' join (WB5, 8-10, 13a/b); a letter, then one
// of . ' :, then a letter join (WB6/7); a digit, then one of . ' , ;, then a digit join
// (WB11/12). Segments of only '_' are dropped.
void AsciiSegment(std::string_view text, size_t begin, size_t end, uint32_t max_len, bool lowercase,
                  std::vector<Token>* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  size_t i = begin;
  while (i < end) {
    if (!IsAsciiWordChar(p[i])) {
      ++i;
      continue;
    }
    size_t start = i;
    bool has_alnum = false;
    while (true) {
      while (i < end && IsAsciiWordChar(p[i])) {
        has_alnum |= p[i] != '_';
        ++i;
      }
      if (i + 1 < end) {
        unsigned char prev = p[i - 1], mid = p[i], next = p[i + 1];
        bool letters =
            IsAsciiLetter(prev) && IsAsciiLetter(next) && (mid == '.' || mid == '\'' || mid == ':');
        bool digits = IsAsciiDigit(prev) && IsAsciiDigit(next) &&
                      (mid == '.' || mid == '\'' || mid == ',' || mid == ';');
        if (letters || digits) {
          i += 1;
          continue;
        }
      }
      break;
    }
    if (has_alnum) Emit(text, start, i, max_len, true, lowercase, out);
  }
}

inline bool IsAsciiSpace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

}  // namespace

void StandardTokenize(std::string_view text, uint32_t max_token_length, bool ascii_fast_path,
                      std::vector<Token>* out, bool lowercase) {
  if (max_token_length == 0) max_token_length = 1;
  if (!ascii_fast_path) {
    IcuSegment(text, 0, text.size(), max_token_length, lowercase, out);
    return;
  }
  if (IsAscii(text)) {
    AsciiSegment(text, 0, text.size(), max_token_length, lowercase, out);
    return;
  }
  // Regions between ASCII whitespace are segmented independently: UAX#29 always breaks on
  // both sides of these characters (Extend/Format after one makes no token either way).
  // Consecutive regions holding non-ASCII bytes go to ICU together.
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  size_t n = text.size();
  size_t icu_start = n;  // start of the pending ICU span, n when none
  size_t i = 0;
  while (i < n) {
    while (i < n && IsAsciiSpace(p[i])) ++i;
    if (i == n) break;
    size_t region_start = i;
    bool ascii = true;
    while (i < n && !IsAsciiSpace(p[i])) {
      ascii &= p[i] < 0x80;
      ++i;
    }
    if (ascii) {
      if (icu_start != n) {
        IcuSegment(text, icu_start, region_start, max_token_length, lowercase, out);
        icu_start = n;
      }
      AsciiSegment(text, region_start, i, max_token_length, lowercase, out);
    } else if (icu_start == n) {
      icu_start = region_start;
    }
  }
  if (icu_start != n) IcuSegment(text, icu_start, n, max_token_length, lowercase, out);
}

}  // namespace quidditch::engine::analysis
