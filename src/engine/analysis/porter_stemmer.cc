// Lucene's PorterStemmer (org.apache.lucene.analysis.en.PorterStemmer), which follows
// Martin Porter's reference C implementation, including its departures from the published
// algorithm ("bli" -> "ble", "logi" -> "log"). It works on UTF-16 code units as Lucene does.

#include <string>

#include "engine/analysis/components.h"
#include "engine/analysis/utf8.h"

namespace quidditch::engine::analysis {
namespace {

// Works on a std::u16string, or on a std::string holding only ASCII (the common case,
// which needs no conversion).
template <typename String>
class Stemmer {
 public:
  using Char = typename String::value_type;
  explicit Stemmer(String* b) : b_(*b) {}

  // Stems b_; returns the new length.
  size_t Stem() {
    k_ = static_cast<int>(b_.size()) - 1;
    if (k_ > 1) {
      Step1();
      Step2();
      Step3();
      Step4();
      Step5();
      Step6();
    }
    return static_cast<size_t>(k_ + 1);
  }

 private:
  bool Cons(int i) const {
    switch (b_[i]) {
      case 'a':
      case 'e':
      case 'i':
      case 'o':
      case 'u':
        return false;
      case 'y':
        return i == 0 ? true : !Cons(i - 1);
      default:
        return true;
    }
  }

  // The number of consonant sequences between 0 and j_.
  int M() const {
    int n = 0;
    int i = 0;
    while (true) {
      if (i > j_) return n;
      if (!Cons(i)) break;
      i++;
    }
    i++;
    while (true) {
      while (true) {
        if (i > j_) return n;
        if (Cons(i)) break;
        i++;
      }
      i++;
      n++;
      while (true) {
        if (i > j_) return n;
        if (!Cons(i)) break;
        i++;
      }
      i++;
    }
  }

  bool VowelInStem() const {
    for (int i = 0; i <= j_; i++) {
      if (!Cons(i)) return true;
    }
    return false;
  }

  bool DoubleC(int j) const {
    if (j < 1) return false;
    if (b_[j] != b_[j - 1]) return false;
    return Cons(j);
  }

  bool Cvc(int i) const {
    if (i < 2 || !Cons(i) || Cons(i - 1) || !Cons(i - 2)) return false;
    Char ch = b_[i];
    return !(ch == 'w' || ch == 'x' || ch == 'y');
  }

  bool Ends(std::string_view s) {
    int l = static_cast<int>(s.size());
    int o = k_ - l + 1;
    if (o < 0) return false;
    for (int i = 0; i < l; i++) {
      if (b_[o + i] != static_cast<Char>(s[i])) return false;
    }
    j_ = k_ - l;
    return true;
  }

  void SetTo(std::string_view s) {
    int l = static_cast<int>(s.size());
    int o = j_ + 1;
    if (static_cast<int>(b_.size()) < o + l) b_.resize(o + l);
    for (int i = 0; i < l; i++) b_[o + i] = static_cast<Char>(s[i]);
    k_ = j_ + l;
  }

  void R(std::string_view s) {
    if (M() > 0) SetTo(s);
  }

  // Plurals and -ed or -ing.
  void Step1() {
    if (b_[k_] == 's') {
      if (Ends("sses")) {
        k_ -= 2;
      } else if (Ends("ies")) {
        SetTo("i");
      } else if (b_[k_ - 1] != 's') {
        k_--;
      }
    }
    if (Ends("eed")) {
      if (M() > 0) k_--;
    } else if ((Ends("ed") || Ends("ing")) && VowelInStem()) {
      k_ = j_;
      if (Ends("at")) {
        SetTo("ate");
      } else if (Ends("bl")) {
        SetTo("ble");
      } else if (Ends("iz")) {
        SetTo("ize");
      } else if (DoubleC(k_)) {
        Char ch = b_[k_--];
        if (ch == 'l' || ch == 's' || ch == 'z') k_++;
      } else if (M() == 1 && Cvc(k_)) {
        SetTo("e");
      }
    }
  }

  // Terminal y to i when there is another vowel in the stem.
  void Step2() {
    if (Ends("y") && VowelInStem()) b_[k_] = 'i';
  }

  // Double suffixes to single ones.
  void Step3() {
    if (k_ == 0) return;
    switch (b_[k_ - 1]) {
      case 'a':
        if (Ends("ational")) {
          R("ate");
          break;
        }
        if (Ends("tional")) {
          R("tion");
          break;
        }
        break;
      case 'c':
        if (Ends("enci")) {
          R("ence");
          break;
        }
        if (Ends("anci")) {
          R("ance");
          break;
        }
        break;
      case 'e':
        if (Ends("izer")) {
          R("ize");
          break;
        }
        break;
      case 'l':
        if (Ends("bli")) {
          R("ble");
          break;
        }
        if (Ends("alli")) {
          R("al");
          break;
        }
        if (Ends("entli")) {
          R("ent");
          break;
        }
        if (Ends("eli")) {
          R("e");
          break;
        }
        if (Ends("ousli")) {
          R("ous");
          break;
        }
        break;
      case 'o':
        if (Ends("ization")) {
          R("ize");
          break;
        }
        if (Ends("ation")) {
          R("ate");
          break;
        }
        if (Ends("ator")) {
          R("ate");
          break;
        }
        break;
      case 's':
        if (Ends("alism")) {
          R("al");
          break;
        }
        if (Ends("iveness")) {
          R("ive");
          break;
        }
        if (Ends("fulness")) {
          R("ful");
          break;
        }
        if (Ends("ousness")) {
          R("ous");
          break;
        }
        break;
      case 't':
        if (Ends("aliti")) {
          R("al");
          break;
        }
        if (Ends("iviti")) {
          R("ive");
          break;
        }
        if (Ends("biliti")) {
          R("ble");
          break;
        }
        break;
      case 'g':
        if (Ends("logi")) {
          R("log");
          break;
        }
        break;
    }
  }

  // -ic-, -full, -ness etc.
  void Step4() {
    switch (b_[k_]) {
      case 'e':
        if (Ends("icate")) {
          R("ic");
          break;
        }
        if (Ends("ative")) {
          R("");
          break;
        }
        if (Ends("alize")) {
          R("al");
          break;
        }
        break;
      case 'i':
        if (Ends("iciti")) {
          R("ic");
          break;
        }
        break;
      case 'l':
        if (Ends("ical")) {
          R("ic");
          break;
        }
        if (Ends("ful")) {
          R("");
          break;
        }
        break;
      case 's':
        if (Ends("ness")) {
          R("");
          break;
        }
        break;
    }
  }

  // -ant, -ence etc. in context <c>vcvc<v>.
  void Step5() {
    if (k_ == 0) return;
    switch (b_[k_ - 1]) {
      case 'a':
        if (Ends("al")) break;
        return;
      case 'c':
        if (Ends("ance")) break;
        if (Ends("ence")) break;
        return;
      case 'e':
        if (Ends("er")) break;
        return;
      case 'i':
        if (Ends("ic")) break;
        return;
      case 'l':
        if (Ends("able")) break;
        if (Ends("ible")) break;
        return;
      case 'n':
        if (Ends("ant")) break;
        if (Ends("ement")) break;
        if (Ends("ment")) break;
        if (Ends("ent")) break;
        return;
      case 'o':
        if (Ends("ion") && j_ >= 0 && (b_[j_] == 's' || b_[j_] == 't')) break;
        if (Ends("ou")) break;
        return;
      case 's':
        if (Ends("ism")) break;
        return;
      case 't':
        if (Ends("ate")) break;
        if (Ends("iti")) break;
        return;
      case 'u':
        if (Ends("ous")) break;
        return;
      case 'v':
        if (Ends("ive")) break;
        return;
      case 'z':
        if (Ends("ize")) break;
        return;
      default:
        return;
    }
    if (M() > 1) k_ = j_;
  }

  // A final -e, and -ll to -l, when m() > 1.
  void Step6() {
    j_ = k_;
    if (b_[k_] == 'e') {
      int a = M();
      if (a > 1 || (a == 1 && !Cvc(k_ - 1))) k_--;
    }
    if (b_[k_] == 'l' && DoubleC(k_) && M() > 1) k_--;
  }

  String& b_;
  int k_ = 0;
  int j_ = 0;
};

}  // namespace

void PorterStem(std::string* word) {
  if (word->size() <= 2) return;
  bool ascii = true;
  for (char c : *word) ascii &= static_cast<unsigned char>(c) < 0x80;
  if (ascii) {
    Stemmer<std::string> stemmer(word);
    word->resize(stemmer.Stem());
    return;
  }
  std::u16string b;
  b.reserve(word->size());
  for (size_t i = 0; i < word->size();) {
    char32_t c = DecodeUtf8(*word, &i);
    if (c >= 0x10000) {
      c -= 0x10000;
      b.push_back(static_cast<char16_t>(0xD800 + (c >> 10)));
      b.push_back(static_cast<char16_t>(0xDC00 + (c & 0x3FF)));
    } else {
      b.push_back(static_cast<char16_t>(c));
    }
  }
  Stemmer<std::u16string> stemmer(&b);
  size_t len = stemmer.Stem();
  b.resize(len);
  // Only ASCII suffixes change, so the stem is a prefix of `b` in UTF-16: re-encode it.
  std::string out;
  out.reserve(len);
  for (size_t i = 0; i < b.size(); ++i) {
    char32_t c = b[i];
    if (c >= 0xD800 && c <= 0xDBFF && i + 1 < b.size()) {
      c = 0x10000 + ((c - 0xD800) << 10) + (b[i + 1] - 0xDC00);
      ++i;
    }
    AppendUtf8(&out, c);
  }
  *word = std::move(out);
}

}  // namespace quidditch::engine::analysis
