#!/usr/bin/env python3
"""Builds the engine-benchmark corpora from Debian packages (Python 3 stdlib only).

Corpora (JSONL, one document per line, written to <cache>/corpora/):
  debian.jsonl  the package records of `apt-cache dumpavail` (~63k)
  gcide.jsonl   the GCIDE dictionary of package dict-gcide (~200k entries)
  mixed.jsonl   >= 1M paragraphs of real text: GCIDE entry paragraphs, WordNet synsets
                (words + gloss, package wordnet-base), man-page paragraphs (packages
                manpages, manpages-dev) and package descriptions

Every line has the same indexed fields, so that every harness indexes the same thing:
  id    int     the line number (0-based); engines break score ties by it
  text  string  the full text, NORMALIZED (see normalize()); the one analyzed field
  kw    string  a keyword (not analyzed): debian: Section; gcide: the first source tag of the
                entry ("1913 Webster", "PJC", ...); mixed: the source of the paragraph
  num   int     a real numeric field: debian: Installed-Size (KiB); gcide/mixed: the length
                of the raw record in bytes (none of these corpora has a real date field)
plus fields kept for readers only (title, and for debian: priority, maintainer, size, version).

Usage: prepare_corpora.py <cache_dir> [--quick]
Installs dict-gcide, wordnet-base, manpages, manpages-dev with apt-get (sudo when not root)
when they are missing. Outputs are cached: a corpus whose file exists is not rebuilt.
"""

import gzip
import json
import os
import re
import subprocess
import sys
import time

PACKAGES = ["dict-gcide", "wordnet-base", "manpages", "manpages-dev"]
# Tantivy's default tokenizer drops tokens of 40 bytes or more (RemoveLongFilter(40)); Xapian
# and Lucene keep longer ones. Dropping them here makes every engine see the same terms.
MAX_TOKEN_LEN = 39
QUICK_DOCS = {"debian": 20000, "gcide": 20000, "mixed": 50000}
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def normalize(text):
    """Lowercase; every character that is not ASCII [a-z0-9] becomes a space; tokens of 40 or
    more characters are dropped; single spaces. On such text Lucene's StandardTokenizer,
    Tantivy's default tokenizer (SimpleTokenizer + LowerCaser + RemoveLongFilter(40)), Xapian's
    TermGenerator (no stemmer) and a whitespace split all produce the same tokens."""
    tokens = _NON_ALNUM.sub(" ", text.lower()).split()
    return " ".join(t for t in tokens if len(t) <= MAX_TOKEN_LEN)


def log(msg):
    print(f"[prepare {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def ensure_packages():
    missing = []
    for p in PACKAGES:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True)
        if "install ok installed" not in r.stdout:
            missing.append(p)
    if not missing:
        return
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    log(f"installing {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(sudo + ["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + missing,
                   check=True, env=env)


class Progress:
    def __init__(self, what, total=None):
        self.what, self.total, self.n, self.last = what, total, 0, time.time()

    def tick(self, k=1):
        self.n += k
        now = time.time()
        if now - self.last >= 2:
            self.last = now
            pct = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
            log(f"{self.what}: {self.n}{pct}")


# ---- Debian package records -------------------------------------------------------------

def debian_records():
    out = subprocess.run(["apt-cache", "dumpavail"], check=True, capture_output=True).stdout
    for block in out.decode("utf-8", "replace").split("\n\n"):
        fields, last = {}, None
        for line in block.split("\n"):
            if not line:
                continue
            if line[0] in " \t" and last:
                fields[last] += "\n" + line.strip()
                continue
            key, _, value = line.partition(":")
            last = key
            fields[key] = value.strip()
        if "Package" not in fields:
            continue
        yield fields


def _int(s):
    try:
        return int(s)
    except (TypeError, ValueError):
        return 0


def build_debian():
    docs = []
    for f in debian_records():
        # dumpavail carries the short description only (the long ones live in Translation-*
        # files, absent here); the tags (debtags) are real descriptive text too.
        raw = f"{f['Package']} {f.get('Description', '')} {f.get('Tag', '')}"
        docs.append({"title": f["Package"], "text": normalize(raw),
                     "kw": f.get("Section", "unknown"), "num": _int(f.get("Installed-Size")),
                     "priority": f.get("Priority", ""), "maintainer": f.get("Maintainer", ""),
                     "size": _int(f.get("Size")), "version": f.get("Version", "")})
    return docs


# ---- GCIDE ---------------------------------------------------------------------------------

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _b64(s):
    n = 0
    for c in s:
        n = n * 64 + _B64.index(c)
    return n


_SOURCE = re.compile(r"^\s*\[([A-Za-z0-9 .]+)\]\s*$", re.M)


def gcide_entries():
    data = gzip.open("/usr/share/dictd/gcide.dict.dz").read()
    with open("/usr/share/dictd/gcide.index", encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    prog = Progress("gcide entries", len(lines))
    for line in lines:
        prog.tick()
        parts = line.split("\t")
        if len(parts) != 3 or parts[0].startswith("00-"):
            continue
        head, off, ln = parts[0], _b64(parts[1]), _b64(parts[2])
        body = data[off:off + ln].decode("utf-8", "replace")
        yield head, body, ln


def build_gcide():
    docs = []
    for head, body, ln in gcide_entries():
        m = _SOURCE.search(body)
        text = normalize(head + " " + body)
        if text:
            docs.append({"title": head, "text": text, "kw": m.group(1) if m else "none",
                         "num": ln})
    return docs


# ---- mixed (>= 1M paragraphs) ---------------------------------------------------------------

def wordnet_docs():
    for pos in ["noun", "verb", "adj", "adv"]:
        with open(f"/usr/share/wordnet/data.{pos}", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("  "):  # license header
                    continue
                head, _, gloss = line.partition("|")
                parts = head.split()
                nwords = int(parts[3], 16)
                words = [parts[4 + 2 * i].replace("_", " ") for i in range(nwords)]
                yield "; ".join(words), ", ".join(words) + " | " + gloss.strip(), f"wordnet-{pos}"


_TROFF_ESC = re.compile(r"\\f[BIRPC]|\\f\(..|\\f\[[^\]]*\]|\\[-&e]|\\\(..|\\\*.|\\s[-+]?\d")
_PARA_MACROS = {".PP", ".P", ".LP", ".TP", ".IP", ".SH", ".SS", ".HP", ".RS", ".RE", ".sp",
                ".br", ".nf", ".fi", ".EX", ".EE", ".in"}
_TEXT_MACROS = {".B", ".I", ".BR", ".IR", ".RB", ".RI", ".BI", ".IB", ".SM", ".SB", ".UR",
                ".MT", ".TQ"}


def man_paragraphs(path):
    """Paragraphs of one man page, from its troff source: paragraph macros and blank lines
    split; font macros keep their text; other requests and comments are dropped."""
    with gzip.open(path) as f:
        src = f.read().decode("utf-8", "replace")
    paras, cur = [], []
    for line in src.split("\n"):
        if line.startswith(".") or line.startswith("'"):
            macro, _, rest = line.partition(" ")
            if macro in _PARA_MACROS or macro.startswith('.\\"'):
                if macro in _PARA_MACROS and cur:
                    paras.append(" ".join(cur))
                    cur = []
                if macro in (".SH", ".SS", ".IP") and rest:
                    cur.append(rest)
                continue
            if macro in _TEXT_MACROS:
                cur.append(rest.replace('"', " "))
            continue
        if not line.strip():
            if cur:
                paras.append(" ".join(cur))
                cur = []
            continue
        cur.append(line)
    if cur:
        paras.append(" ".join(cur))
    return [_TROFF_ESC.sub(" ", p) for p in paras]


def man_pages():
    out = subprocess.run(["dpkg", "-L", "manpages", "manpages-dev"], check=True,
                         capture_output=True, text=True).stdout
    return sorted(p for p in out.split("\n")
                  if p.startswith("/usr/share/man/man") and p.endswith(".gz") and os.path.isfile(p))


def build_mixed(debian, limit=None):
    docs = []

    def add(title, raw, kw):
        text = normalize(raw)
        if text:
            docs.append({"title": title, "text": text, "kw": kw, "num": len(raw.encode())})

    # GCIDE: one document per paragraph of each entry (blank-line separated).
    for head, body, _ in gcide_entries():
        for para in re.split(r"\n\s*\n", body):
            add(head, para, "gcide")
        if limit and len(docs) >= limit:
            return docs[:limit]
    log(f"mixed: {len(docs)} docs after gcide")
    for title, raw, kw in wordnet_docs():
        add(title, raw, kw)
    log(f"mixed: {len(docs)} docs after wordnet")
    pages = man_pages()
    prog = Progress("man pages", len(pages))
    for p in pages:
        prog.tick()
        name = os.path.basename(p)[:-3]
        section = os.path.basename(os.path.dirname(p))
        for para in man_paragraphs(p):
            add(name, para, f"manpages-{section}")
    log(f"mixed: {len(docs)} docs after man pages")
    for d in debian:
        add(d["title"], d["title"] + " " + d["text"], "debian")
    log(f"mixed: {len(docs)} docs after debian")
    return docs[:limit] if limit else docs


def write(path, docs, limit=None):
    tmp = path + ".tmp"
    prog = Progress(f"writing {os.path.basename(path)}", len(docs))
    with open(tmp, "w", encoding="utf-8") as f:
        for i, d in enumerate(docs[:limit] if limit else docs):
            f.write(json.dumps(dict(id=i, **d), ensure_ascii=True) + "\n")
            prog.tick()
    os.replace(tmp, path)


def prepare(cache_dir, names, quick=False):
    """Returns {name: path}; builds the files that are missing."""
    out_dir = os.path.join(cache_dir, "corpora")
    os.makedirs(out_dir, exist_ok=True)
    suffix = ".quick" if quick else ""
    paths = {n: os.path.join(out_dir, f"{n}{suffix}.jsonl") for n in names}
    if all(os.path.exists(p) for p in paths.values()):
        return paths
    ensure_packages()
    debian = None
    for name, path in paths.items():
        if os.path.exists(path):
            log(f"{name}: cached at {path}")
            continue
        limit = QUICK_DOCS[name] if quick else None
        log(f"{name}: building")
        if name == "debian":
            debian = debian or build_debian()
            docs = debian
        elif name == "gcide":
            docs = build_gcide()
        elif name == "mixed":
            debian = debian or build_debian()
            docs = build_mixed(debian, limit)
            if not quick and len(docs) < 1_000_000:
                raise SystemExit(f"mixed corpus has only {len(docs)} docs (< 1M)")
        else:
            raise SystemExit(f"unknown corpus {name}")
        write(path, docs, limit)
        log(f"{name}: {min(len(docs), limit or len(docs))} docs -> {path}")
    return paths


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 1:
        raise SystemExit(__doc__)
    prepare(args[0], ["debian", "gcide", "mixed"], quick="--quick" in sys.argv)
