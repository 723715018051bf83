#!/usr/bin/env python3
"""Engine benchmark driver: Quidditch against Lucene, Tantivy and Xapian (stdlib only).

End to end: prepare the corpora (cached), derive the queries (cached), build the peer
harnesses (cached), then for every corpus and engine: index with 2 threads (throughput only),
index with 1 thread (the index that is searched and measured), run every query; cross-check
every engine's answers against Lucene's; write bench/results/engine.json and print a Markdown
summary. See bench/engine/README.md.

  run.py [--quick] [--corpora debian,gcide,mixed] [--engines lucene,tantivy,xapian,quidditch]
         [--cache build/bench-engine] [--out bench/results/engine.json]
         [--quidditch-bin build/release/bench_engine_quidditch]
"""

import argparse
import json
import math
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import make_queries  # noqa: E402
import prepare_corpora  # noqa: E402

ENGINES = ["quidditch", "lucene", "tantivy", "xapian"]
PEERS = ["lucene", "tantivy", "xapian"]


def log(msg):
    print(f"[bench-engine {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def newer(target, sources):
    if not os.path.exists(target):
        return False
    t = os.path.getmtime(target)
    return all(os.path.getmtime(s) <= t for s in sources)


def files_under(d):
    return [os.path.join(r, f) for r, _, fs in os.walk(d) for f in fs]


# ---- building the harnesses ----------------------------------------------------------------

def build_lucene(cache):
    target = os.path.join(cache, "lucene-target")
    jar = os.path.join(target, "lucene-bench-1.0.jar")
    src = files_under(os.path.join(HERE, "lucene", "src")) + [os.path.join(HERE, "lucene",
                                                                           "pom.xml")]
    if not newer(jar, src):
        log("building the Lucene harness (mvn)")
        subprocess.run(["mvn", "-q", "-B", "package", f"-DbuildDir={target}"],
                       cwd=os.path.join(HERE, "lucene"), check=True)
    cp = jar + ":" + os.path.join(target, "lib", "*")
    return ["java", "-Xmx6g", "-XX:+UseParallelGC", "-cp", cp, "quidditch.bench.LuceneBench"]


def build_tantivy(cache):
    target = os.path.join(cache, "tantivy-target")
    log("building the Tantivy harness (cargo, incremental)")
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=os.path.join(HERE, "tantivy"),
                   env=dict(os.environ, CARGO_TARGET_DIR=target), check=True)
    return [os.path.join(target, "release", "tantivy_bench")]


def build_xapian(cache):
    binary = os.path.join(cache, "bin", "xapian_bench")
    src = os.path.join(HERE, "xapian", "xapian_bench.cc")
    if not newer(binary, [src]):
        if not os.path.exists("/usr/include/xapian.h"):
            sudo = [] if os.geteuid() == 0 else ["sudo"]
            env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
            subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                                   "libxapian-dev"], check=True, env=env)
        log("building the Xapian harness (g++)")
        os.makedirs(os.path.dirname(binary), exist_ok=True)
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "xapian-core"], check=True,
                               capture_output=True, text=True).stdout.split()
        subprocess.run(["g++", "-O2", "-std=c++20", "-Wall", "-Wextra", "-Werror", "-o", binary,
                        src] + flags + ["-lpthread"], check=True)
    return [binary]


def build_quidditch(args):
    """The Quidditch harness is the CMake target bench_engine_quidditch (built by `make
    bench-engine`, not here: this driver never touches a CMake build directory). Returns
    (command, None) or (None, reason)."""
    binary = args.quidditch_bin or os.path.join(ROOT, "build", "release",
                                                "bench_engine_quidditch")
    if not os.path.exists(binary):
        return None, (f"{binary} does not exist (build the CMake target bench_engine_quidditch;"
                      " it needs the shard engine API, see bench/engine/README.md)")
    r = subprocess.run([binary, "probe"], capture_output=True, text=True)
    if r.returncode != 0:
        return None, ("the harness cannot run the benchmark: " +
                      (r.stdout + r.stderr).strip().replace("\n", " | "))
    return [binary], None


# ---- running -------------------------------------------------------------------------------

def run_json(cmd, logfile):
    log(" ".join(os.path.basename(c) if i == 0 else c for i, c in enumerate(cmd[-8:])))
    t0 = time.time()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(logfile, "a") as err:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed (exit {r.returncode}); see {logfile}")
    line = [x for x in r.stdout.splitlines() if x.startswith("{")][-1]
    out = json.loads(line)
    out["wall_seconds"] = round(time.time() - t0, 2)
    # CPU time of the whole harness process (loading included): on a shared machine it is
    # steadier than wall-clock rates.
    out["process_cpu_seconds"] = round(ru1.ru_utime + ru1.ru_stime - ru0.ru_utime -
                                       ru0.ru_stime, 2)
    return out


def run_engine(engine, cmd, corpus_name, corpus, queries, cache, settings):
    base = os.path.join(cache, "indexes", engine)
    os.makedirs(base, exist_ok=True)
    logfile = os.path.join(cache, "logs", f"{engine}-{corpus_name}.log")
    os.makedirs(os.path.dirname(logfile), exist_ok=True)
    res = {}
    idx2 = os.path.join(base, f"{corpus_name}-t2")
    res["index_2_threads"] = run_json(cmd + ["index", corpus, idx2, "2"], logfile)
    shutil.rmtree(idx2, ignore_errors=True)
    idx1 = os.path.join(base, f"{corpus_name}-t1")
    res["index_1_thread"] = run_json(cmd + ["index", corpus, idx1, "1"], logfile)
    results = os.path.join(cache, "results", f"{engine}-{corpus_name}.jsonl")
    os.makedirs(os.path.dirname(results), exist_ok=True)
    res["search"] = run_json(cmd + ["search", idx1, queries, results, str(settings["warmup"]),
                                    str(settings["passes"]), str(settings["qps_seconds"])],
                             logfile)
    res["results_file"] = results
    return res


# ---- cross-check and statistics ------------------------------------------------------------

def load_results(path):
    out = {}
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            out[(r["qid"], r["mode"])] = r
    return out


def tie_normalized(top):
    """Score desc, then id asc, on the engine's own (6-digit) scores."""
    return [h[0] for h in sorted(top, key=lambda h: (-h[1], h[0]))]


def compare(ref, other, queries):
    """Per category and overall: share of TOP_10 answers with the same ids in the same order
    (ties by id), with the same id set, of COUNT answers with the same count, and of
    aggregation answers with the same buckets."""
    stats = {}
    mismatches = []

    def bump(cat, key, ok):
        for c in (cat, "ALL"):
            s = stats.setdefault(c, {})
            n, k = s.get(key, (0, 0))
            s[key] = (n + 1, k + (1 if ok else 0))

    for q in queries:
        cat = q["category"]
        for mode in ("TOP_10", "COUNT"):
            a, b = ref.get((q["qid"], mode)), other.get((q["qid"], mode))
            if a is None or b is None:
                bump(cat, "answered", False)
                continue
            if mode == "TOP_10":
                ok = tie_normalized(a["top"]) == tie_normalized(b["top"])
                bump(cat, "top10_exact", ok)
                bump(cat, "top10_set", {h[0] for h in a["top"]} == {h[0] for h in b["top"]})
                if not ok:
                    mismatches.append({"qid": q["qid"], "category": cat, "query": q["query"],
                                       "lucene": a["top"], "engine": b["top"]})
            else:
                bump(cat, "count", a["count"] == b["count"])
                if a["count"] != b["count"]:
                    mismatches.append({"qid": q["qid"], "category": cat, "query": q["query"],
                                       "lucene_count": a["count"], "engine_count": b["count"]})
            if "agg" in a:
                bump(cat, "agg", a.get("agg") == b.get("agg"))
    pct = {c: {k: round(100.0 * ok / n, 2) for k, (n, ok) in s.items()}
           for c, s in stats.items()}
    return pct, mismatches


def percentile(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[max(0, min(len(xs) - 1, math.ceil(p / 100.0 * len(xs)) - 1))]


def latency_stats(results, queries):
    cats = {}
    for q in queries:
        for mode in ("TOP_10", "COUNT"):
            r = results.get((q["qid"], mode))
            if r:
                cats.setdefault((q["category"], mode), []).extend(r["lat_us"])
    return {f"{c}|{m}": {"p50_ms": percentile(v, 50) / 1000.0, "p99_ms": percentile(v, 99) / 1000.0}
            for (c, m), v in cats.items()}


def machine():
    info = {"nproc": os.cpu_count(), "platform": platform.platform()}
    with open("/proc/meminfo") as f:
        info["ram_gb"] = round(int(f.readline().split()[1]) / 1024 / 1024, 1)
    with open("/proc/cpuinfo") as f:
        m = re.search(r"model name\s*:\s*(.*)", f.read())
        info["cpu"] = m.group(1) if m else "unknown"
    with open("/proc/loadavg") as f:
        info["loadavg_at_start"] = f.read().split()[:3]
    return info


def versions():
    v = {"lucene": "9.12.3"}
    try:
        lock = open(os.path.join(HERE, "tantivy", "Cargo.lock")).read()
        m = re.search(r'name = "tantivy"\nversion = "([^"]+)"', lock)
        v["tantivy"] = m.group(1) if m else "?"
    except OSError:
        v["tantivy"] = "?"
    r = subprocess.run(["pkg-config", "--modversion", "xapian-core"], capture_output=True,
                       text=True)
    v["xapian"] = r.stdout.strip()
    r = subprocess.run(["java", "-version"], capture_output=True, text=True)
    v["java"] = (r.stderr.splitlines() or ["?"])[0]
    r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                       text=True)
    v["quidditch_commit"] = r.stdout.strip()
    return v


def write_report(report, out_path):
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(out_path + ".tmp", "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    os.replace(out_path + ".tmp", out_path)


# ---- report --------------------------------------------------------------------------------

def fmt(x, digits=2):
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}f}" if abs(x) < 1000 else f"{x:,.0f}"
    return str(x)


def markdown(report):
    out = []
    m = report["machine"]
    out.append(f"Engine benchmark ({report['mode']} mode), {report['date']}, Quidditch "
               f"{report['versions']['quidditch_commit']}; machine: {m['nproc']} cores "
               f"({m['cpu']}), {m['ram_gb']} GB RAM, load average at start "
               f"{' '.join(m['loadavg_at_start'])} (shared with other builds: noisy).")
    out.append(f"Peers: Lucene {report['versions']['lucene']} ({report['versions']['java']}), "
               f"Tantivy {report['versions']['tantivy']}, Xapian {report['versions']['xapian']}.")
    if report.get("skipped"):
        for e, why in report["skipped"].items():
            out.append(f"**{e} skipped**: {why}")
    for cname, c in report["corpora"].items():
        engines = [e for e in ENGINES if e in c["engines"]]
        out.append(f"\n### {cname}: {c['docs']} docs, {c['queries']} queries\n")
        out.append("| engine | docs/s 1 thread | docs/s 2 threads | bytes/doc (segments) "
                   "| peak RSS index / search (MB) | top-10 = Lucene | top-10 set = Lucene "
                   "| count = Lucene | aggs = Lucene |")
        out.append("|---|---|---|---|---|---|---|---|---|")
        for e in engines:
            r = c["engines"][e]
            i1, i2, s = r["index_1_thread"], r["index_2_threads"], r["search"]
            agree = c.get("agreement", {}).get(e, {}).get("ALL", {})
            out.append(
                f"| {e} | {fmt(i1['docs_per_s'], 0)} | {fmt(i2['docs_per_s'], 0)} | "
                f"{fmt(i1['bytes_per_doc'], 1)} ({i1['segments']}) | "
                f"{i1['peak_rss_kb'] // 1024} / {s['peak_rss_kb'] // 1024} | "
                f"{fmt(agree.get('top10_exact', 100.0 if e == 'lucene' else None), 1)}% | "
                f"{fmt(agree.get('top10_set', 100.0 if e == 'lucene' else None), 1)}% | "
                f"{fmt(agree.get('count', 100.0 if e == 'lucene' else None), 1)}% | "
                f"{fmt(agree.get('agg', 100.0 if e == 'lucene' else None), 1)}% |")
        out.append("")
        out.append("p50 / p99 latency in ms (1 thread), QPS with 1 / 2 client threads:\n")
        out.append("| category | mode | " + " | ".join(engines) + " |")
        out.append("|---|---|" + "---|" * len(engines))
        for key in c["categories"]:
            cat, mode = key.split("|")
            cells = []
            for e in engines:
                st = c["engines"][e]["stats"].get(key)
                if not st:
                    cells.append("-")
                    continue
                cells.append(f"{fmt(st['p50_ms'], 3)} / {fmt(st['p99_ms'], 3)} ms, "
                             f"{fmt(st['qps_1'], 0)} / {fmt(st['qps_2'], 0)} q/s")
            out.append(f"| {cat} | {mode} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small corpus subsets, few queries")
    ap.add_argument("--corpora", default="debian,gcide,mixed")
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--cache", default=os.path.join(ROOT, "build", "bench-engine"))
    ap.add_argument("--out", default=None,
                    help="default bench/results/engine.json (with --quick: "
                    "<cache>/engine.quick.json)")
    ap.add_argument("--quidditch-bin", default=None)
    ap.add_argument("--per-category", type=int, default=None)
    ap.add_argument("--markdown", metavar="ENGINE_JSON",
                    help="only print the Markdown summary of an existing results file")
    args = ap.parse_args()
    if args.markdown:
        with open(args.markdown) as f:
            print(markdown(json.load(f)))
        return
    quick = args.quick
    settings = ({"per_category": 5, "warmup": 3, "passes": 5, "qps_seconds": 0.2} if quick else
                {"per_category": 30, "warmup": 5, "passes": 10, "qps_seconds": 1.0})
    if args.per_category:
        settings["per_category"] = args.per_category
    # A quick run is a smoke test: its results stay in the cache, not in bench/results.
    out_path = args.out or (os.path.join(args.cache, "engine.quick.json") if quick else
                            os.path.join(ROOT, "bench", "results", "engine.json"))
    corpora_names = args.corpora.split(",")
    engines = args.engines.split(",")
    mach = machine()
    log(f"machine: {mach}")

    corpora = prepare_corpora.prepare(args.cache, corpora_names, quick=quick)
    queries_paths = {}
    for name, path in corpora.items():
        qdir = os.path.join(args.cache, "queries")
        os.makedirs(qdir, exist_ok=True)
        qp = os.path.join(qdir, os.path.basename(path).replace(
            ".jsonl", f".q{settings['per_category']}.jsonl"))
        if not newer(qp, [path, os.path.join(HERE, "make_queries.py")]):
            qs = make_queries.make(path, settings["per_category"], 42)
            with open(qp + ".tmp", "w") as f:
                for q in qs:
                    f.write(json.dumps(q) + "\n")
            os.replace(qp + ".tmp", qp)
        queries_paths[name] = qp

    commands, skipped = {}, {}
    builders = {"lucene": build_lucene, "tantivy": build_tantivy, "xapian": build_xapian}
    for e in engines:
        if e == "quidditch":
            cmd, why = build_quidditch(args)
            if cmd is None:
                skipped[e] = why
                log(f"Quidditch SKIPPED: {why}. No Quidditch numbers are reported.")
                continue
            commands[e] = cmd
            mtime = time.gmtime(os.path.getmtime(cmd[0]))
            log(f"Quidditch harness: {cmd[0]}, built {time.strftime('%Y-%m-%d %H:%M UTC', mtime)}")
        else:
            commands[e] = builders[e](args.cache)

    report = {"mode": "quick" if quick else "full", "date": time.strftime("%Y-%m-%d %H:%M UTC",
                                                                          time.gmtime()),
              "machine": mach, "versions": versions(), "settings": settings, "skipped": skipped,
              # The engine in the harness is what the binary was built from, not necessarily
              # quidditch_commit (HEAD when the run started).
              "quidditch_binary": ({"path": commands["quidditch"][0], "built": time.strftime(
                  "%Y-%m-%d %H:%M UTC", time.gmtime(os.path.getmtime(commands["quidditch"][0])))}
                  if "quidditch" in commands else None),
              "notes": ["2 shared cores; other engineers were compiling during the run: noisy",
                        "latency: every query of a category x (passes after warm-up), 1 thread",
                        "QPS: the category's queries round-robin for qps_seconds per thread "
                        "count, one shared searcher (Xapian: one Database per thread)",
                        "index docs/s: in-memory documents to committed index, without the "
                        "final merge; bytes/doc after merging the 1-thread index (segments "
                        "column)", "peak RSS: VmHWM of the index (1 thread) and search processes"],
              "corpora": {}}
    for cname in corpora_names:
        qlist = [json.loads(x) for x in open(queries_paths[cname])]
        ndocs = sum(1 for _ in open(corpora[cname]))
        c = {"docs": ndocs, "queries": len(qlist), "corpus_file": corpora[cname],
             "engines": {}, "agreement": {}, "categories": []}
        for q in qlist:
            for mode in ("TOP_10", "COUNT"):
                k = f"{q['category']}|{mode}"
                if k not in c["categories"]:
                    c["categories"].append(k)
        results = {}
        for e in [x for x in ENGINES if x in commands]:
            log(f"== {cname}: {e}")
            try:
                r = run_engine(e, commands[e], cname, corpora[cname], queries_paths[cname],
                               args.cache, settings)
            except RuntimeError as ex:
                log(f"{e} FAILED on {cname}: {ex}")
                skipped[f"{e}/{cname}"] = str(ex)
                continue
            results[e] = load_results(r["results_file"])
            stats = latency_stats(results[e], qlist)
            for k, st in stats.items():
                st["qps_1"] = r["search"]["qps"].get(f"{k}|1")
                st["qps_2"] = r["search"]["qps"].get(f"{k}|2")
            r["stats"] = stats
            c["engines"][e] = r
        if "lucene" in results:
            for e in results:
                if e == "lucene":
                    continue
                pct, mism = compare(results["lucene"], results[e], qlist)
                c["agreement"][e] = pct
                mpath = os.path.join(args.cache, "results", f"mismatch-{e}-{cname}.json")
                with open(mpath, "w") as f:
                    json.dump(mism, f, indent=1)
                log(f"{cname}: {e} vs lucene: {pct['ALL']} (mismatches: {mpath})")
        if "quidditch" in c["engines"]:
            q = c["engines"]["quidditch"]
            ratios = {}
            for peer in PEERS:
                p = c["engines"].get(peer)
                if not p:
                    continue
                rr = {"index_docs_per_s_1": q["index_1_thread"]["docs_per_s"] /
                      p["index_1_thread"]["docs_per_s"],
                      "index_docs_per_s_2": q["index_2_threads"]["docs_per_s"] /
                      p["index_2_threads"]["docs_per_s"],
                      "bytes_per_doc": q["index_1_thread"]["bytes_per_doc"] /
                      p["index_1_thread"]["bytes_per_doc"], "categories": {}}
                for k, st in q["stats"].items():
                    ps = p["stats"].get(k)
                    if ps:
                        rr["categories"][k] = {
                            m: (st[m] / ps[m] if st[m] and ps[m] else None)
                            for m in ("p50_ms", "p99_ms", "qps_1", "qps_2")}
                ratios[peer] = rr
            c["quidditch_ratio_to_peer"] = ratios
            c["ratio_note"] = ("quidditch / peer: latency < 1 and docs/s, QPS > 1 mean "
                               "Quidditch is faster")
        report["corpora"][cname] = c
        write_report(report, out_path)  # after every corpus: a partial run keeps its results
    md = markdown(report)
    with open(os.path.join(args.cache, "engine.md" if not quick else "engine.quick.md"),
              "w") as f:
        f.write(md + "\n")
    print(md)
    log(f"wrote {out_path}")


if __name__ == "__main__":
    main()
