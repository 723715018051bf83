#!/usr/bin/env python3
"""Derives the benchmark queries of one corpus mechanically, luceneutil-style (stdlib only).

Document frequencies (df) of the terms of field `text` are computed over the corpus; terms
are put in bands by df relative to the number of documents N (luceneutil takes its High/Med/
Low terms from df ranges of the same kind on Wikipedia):
  High: df >= 2% of N     Med: 0.2% of N <= df < 2% of N     Low: 0.02% of N <= df < 0.2% of N
(Low also needs df >= 3.) Terms are then drawn at random with a fixed seed, so the same corpus
gives the same queries. Every query is written once as a structured JSON object that every
harness turns into its own engine's query:

  {"qid": 7, "category": "AndHighMed", "query": {...}, "agg": {...}?, "sort": "num_desc"?}
  query: {"type": "term", "term": t}            one term of field text
         {"type": "and"|"or", "terms": [a, b]}  conjunction / disjunction of terms, BM25 summed
         {"type": "phrase", "terms": [...]}     exact phrase (slop 0)
         {"type": "prefix", "prefix": "abc"}    constant score
         {"type": "wildcard", "pattern": "ab*c"}   `*` = any string (maybe empty); constant score
         {"type": "fuzzy", "term": t, "edits": 1|2}  Damerau-Levenshtein (adjacent transposition
                                                 costs 1), no prefix, all expansions; constant score
         {"type": "range", "field": "num", "gte": lo, "lte": hi}   constant score
  sort:  "num_desc": hits by field num descending (then id ascending) instead of by score
  agg:   {"terms": "kw"}: the count of every kw value among the matches
         {"histogram": "num", "interval": I}: counts per bucket floor(num / I) * I
Every query runs in two modes: TOP_10 (the 10 best hits, ties by id ascending; an exact total
is not required) and COUNT (the exact number of matches, no hits); aggregations run in both.

Usage: make_queries.py <corpus.jsonl> <queries.jsonl> [--per-category N] [--seed S]
"""

import collections
import json
import os
import random
import sys
import time

CATEGORIES = ["HighTerm", "MedTerm", "LowTerm", "AndHighHigh", "AndHighMed", "AndHighLow",
              "OrHighHigh", "OrHighMed", "OrHighLow", "Phrase", "Prefix", "Wildcard", "Fuzzy",
              "IntRange", "TermSortByField", "TermsAgg", "NumericHistogram"]


def log(msg):
    print(f"[queries {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def load(corpus):
    df = collections.Counter()
    nums, texts = [], []
    last = time.time()
    with open(corpus, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            toks = d["text"].split()
            df.update(set(toks))
            nums.append(d["num"])
            texts.append(toks)
            if time.time() - last >= 2:
                last = time.time()
                log(f"df: {len(texts)} docs")
    return df, nums, texts


def make(corpus, per_category, seed):
    df, nums, texts = load(corpus)
    n = len(texts)
    rng = random.Random(seed)
    by_df = sorted(df.items(), key=lambda kv: (-kv[1], kv[0]))
    high = [t for t, c in by_df if c >= 0.02 * n]
    med = [t for t, c in by_df if 0.002 * n <= c < 0.02 * n]
    low = [t for t, c in by_df if max(3, 0.0002 * n) <= c < 0.002 * n]
    log(f"{n} docs, {len(df)} terms; bands high={len(high)} med={len(med)} low={len(low)}")
    if not (high and med and low):
        raise SystemExit("a df band is empty; corpus too small")
    bands = {"High": high, "Med": med, "Low": low}
    k = per_category
    queries = []

    def add(cat, query, **extra):
        queries.append(dict(qid=len(queries), category=cat, query=query, **extra))

    def sample(band, m):
        return [rng.choice(band) for _ in range(m)]

    for b in ["High", "Med", "Low"]:
        for t in rng.sample(bands[b], min(k, len(bands[b]))):
            add(f"{b}Term", {"type": "term", "term": t})
    for op in ["And", "Or"]:
        for b in ["High", "Med", "Low"]:
            seen = set()
            while len(seen) < k:
                a, c = sample(high, 1)[0], sample(bands[b], 1)[0]
                if a != c and (a, c) not in seen:
                    seen.add((a, c))
                    add(f"{op}High{b}", {"type": op.lower(), "terms": [a, c]})
    # Phrases that occur: 2-3 consecutive tokens of a random document, not all High terms.
    hi = set(high)
    seen = set()
    while len(seen) < k:
        toks = texts[rng.randrange(n)]
        m = rng.choice([2, 3])
        if len(toks) < m:
            continue
        i = rng.randrange(len(toks) - m + 1)
        ph = tuple(toks[i:i + m])
        if len(set(ph)) == m and not all(t in hi for t in ph) and ph not in seen:
            seen.add(ph)
            add("Phrase", {"type": "phrase", "terms": list(ph)})
    # Prefixes: the first 3 characters of High/Med terms.
    prefixes = sorted({t[:3] for t in high + med if len(t) >= 4 and t[:3].isalpha()})
    for p in rng.sample(prefixes, min(k, len(prefixes))):
        add("Prefix", {"type": "prefix", "prefix": p})
    # Wildcards "ab*c": first two and last character of a Med term of >= 5 characters.
    pats = sorted({t[:2] + "*" + t[-1] for t in med if len(t) >= 5 and t.isalpha()})
    for p in rng.sample(pats, min(k, len(pats))):
        add("Wildcard", {"type": "wildcard", "pattern": p})
    # Fuzzy: Med/Low terms of >= 5 letters, edit distance 1 and 2 alternately.
    cands = sorted(t for t in med + low if len(t) >= 5 and t.isalpha())
    for i, t in enumerate(rng.sample(cands, min(k, len(cands)))):
        add("Fuzzy", {"type": "fuzzy", "term": t, "edits": 1 + i % 2})
    # Numeric ranges covering 1-10% of the docs, between observed values.
    sn = sorted(nums)
    for _ in range(k):
        width = rng.uniform(0.01, 0.10)
        start = rng.uniform(0, 1 - width)
        lo, hi_ = sn[int(start * (n - 1))], sn[int((start + width) * (n - 1))]
        add("IntRange", {"type": "range", "field": "num", "gte": lo, "lte": hi_})
    for t in sample(med, k):
        add("TermSortByField", {"type": "term", "term": t}, sort="num_desc")
    for t in sample(high + med, k):
        add("TermsAgg", {"type": "term", "term": t}, agg={"terms": "kw"})
    # Histogram interval: about 50 buckets between the 1st and 99th percentile.
    p1, p99 = sn[int(0.01 * (n - 1))], sn[int(0.99 * (n - 1))]
    interval = max(1, (p99 - p1) // 50)
    for t in sample(high + med, k):
        add("NumericHistogram", {"type": "term", "term": t},
            agg={"histogram": "num", "interval": interval})
    return queries


def main():
    args = sys.argv[1:]
    per, seed = 30, 42
    if "--per-category" in args:
        i = args.index("--per-category")
        per = int(args[i + 1])
        del args[i:i + 2]
    if "--seed" in args:
        i = args.index("--seed")
        seed = int(args[i + 1])
        del args[i:i + 2]
    if len(args) != 2:
        raise SystemExit(__doc__)
    queries = make(args[0], per, seed)
    with open(args[1] + ".tmp", "w") as f:
        for q in queries:
            f.write(json.dumps(q) + "\n")
    os.replace(args[1] + ".tmp", args[1])
    log(f"{len(queries)} queries -> {args[1]}")


if __name__ == "__main__":
    main()
