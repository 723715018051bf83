//! Tantivy side of the engine benchmark (protocol: bench/engine/README.md).
//!
//!   index  CORPUS.jsonl INDEX_DIR THREADS
//!   search INDEX_DIR QUERIES.jsonl RESULTS.jsonl WARMUP_PASSES PASSES QPS_SECONDS
//!
//! Field `text` uses the default tokenizer (SimpleTokenizer + RemoveLongFilter(40) +
//! LowerCaser) with positions; BM25 is Tantivy's (k1 = 1.2, b = 0.75, fixed). Score ties are
//! broken by ascending DocAddress, which is the corpus id when the index is one segment built
//! in corpus order (the 1-thread index gets a memory budget large enough for that, and the
//! harness reports the segment count).

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::agg_result::AggregationResults;
use tantivy::aggregation::AggregationCollector;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    BooleanQuery, FuzzyTermQuery, Occur, PhraseQuery, Query, RangeQuery, RegexQuery, TermQuery,
};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, FAST, INDEXED, STRING, TEXT,
};
use tantivy::{doc, DocAddress, Index, IndexWriter, Order, Searcher, Term};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

struct Fields {
    id: Field,
    text: Field,
    kw: Field,
    num: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let id = b.add_u64_field("id", FAST);
    let text = b.add_text_field("text", TEXT);
    let kw = b.add_text_field("kw", STRING | FAST);
    let num = b.add_i64_field("num", NumericOptions::default() | INDEXED | FAST);
    (b.build(), Fields { id, text, kw, num })
}

fn peak_rss_kb() -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(-1)
}

fn dir_bytes(dir: &Path) -> Res<u64> {
    let mut n = 0;
    for e in std::fs::read_dir(dir)? {
        n += e?.metadata()?.len();
    }
    Ok(n)
}

fn index(corpus: &str, dir: &str, threads: usize) -> Res<()> {
    let mut docs = Vec::new();
    for line in BufReader::new(File::open(corpus)?).lines() {
        let v: Value = serde_json::from_str(&line?)?;
        docs.push((
            v["id"].as_u64().ok_or("id")?,
            v["text"].as_str().ok_or("text")?.to_string(),
            v["kw"].as_str().ok_or("kw")?.to_string(),
            v["num"].as_i64().ok_or("num")?,
        ));
    }
    let n = docs.len();
    let path = Path::new(dir);
    if path.exists() {
        std::fs::remove_dir_all(path)?;
    }
    std::fs::create_dir_all(path)?;
    let (schema, f) = schema();
    let index = Index::create_in_dir(path, schema)?;
    // 1 thread: 3 GB, so that the whole corpus is one segment in corpus order (no merge that
    // could reorder documents); 2 threads: 1.5 GB each.
    let budget: usize = if threads == 1 { 3_000_000_000 } else { 1_500_000_000 * threads };
    let mut w: IndexWriter = index.writer_with_num_threads(threads, budget)?;
    w.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
    let t0 = Instant::now();
    for (id, text, kw, num) in docs.into_iter() {
        w.add_document(doc!(f.id => id, f.text => text, f.kw => kw, f.num => num))?;
    }
    w.commit()?;
    let index_sec = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let ids = index.searchable_segment_ids()?;
    if threads == 1 && ids.len() > 1 {
        // Merging may interleave segment order; reported through `segments` below.
        w.merge(&ids).wait()?;
    }
    w.garbage_collect_files().wait()?;
    w.wait_merging_threads()?;
    let merge_sec = t1.elapsed().as_secs_f64();
    let segments = index.searchable_segment_ids()?.len();
    let bytes = dir_bytes(path)?;
    println!(
        "{}",
        json!({"engine": "tantivy", "threads": threads, "docs": n, "index_seconds": index_sec,
               "docs_per_s": n as f64 / index_sec, "merge_seconds": merge_sec,
               "segments": segments, "segments_before_merge": ids.len(),
               "index_bytes": bytes, "bytes_per_doc": bytes as f64 / n as f64,
               "peak_rss_kb": peak_rss_kb()})
    );
    Ok(())
}

struct Q {
    qid: u64,
    category: String,
    query: Box<dyn Query>,
    sort_num: bool,
    agg: Option<(Aggregations, bool)>, // (request, is_terms)
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_string() } else { format!("\\{c}") })
        .collect()
}

fn parse_query(v: &Value, f: &Fields) -> Res<Q> {
    let q = &v["query"];
    let term = |t: &Value| -> Res<Term> { Ok(Term::from_field_text(f.text, t.as_str().ok_or("term")?)) };
    let tq = |t: &Value| -> Res<Box<dyn Query>> {
        Ok(Box::new(TermQuery::new(term(t)?, IndexRecordOption::WithFreqs)))
    };
    let query: Box<dyn Query> = match q["type"].as_str().ok_or("type")? {
        "term" => tq(&q["term"])?,
        t @ ("and" | "or") => {
            let occur = if t == "and" { Occur::Must } else { Occur::Should };
            let mut clauses = Vec::new();
            for x in q["terms"].as_array().ok_or("terms")? {
                clauses.push((occur, tq(x)?));
            }
            Box::new(BooleanQuery::new(clauses))
        }
        "phrase" => {
            let mut terms = Vec::new();
            for x in q["terms"].as_array().ok_or("terms")? {
                terms.push(term(x)?);
            }
            Box::new(PhraseQuery::new(terms))
        }
        "prefix" => Box::new(RegexQuery::from_pattern(
            &format!("{}.*", regex_escape(q["prefix"].as_str().ok_or("prefix")?)),
            f.text,
        )?),
        "wildcard" => {
            let pat = q["pattern"].as_str().ok_or("pattern")?;
            let re: Vec<String> = pat.split('*').map(regex_escape).collect();
            Box::new(RegexQuery::from_pattern(&re.join(".*"), f.text)?)
        }
        "fuzzy" => Box::new(FuzzyTermQuery::new(
            term(&q["term"])?,
            q["edits"].as_u64().ok_or("edits")? as u8,
            true,
        )),
        "range" => Box::new(RangeQuery::new(
            Bound::Included(Term::from_field_i64(f.num, q["gte"].as_i64().ok_or("gte")?)),
            Bound::Included(Term::from_field_i64(f.num, q["lte"].as_i64().ok_or("lte")?)),
        )),
        other => return Err(format!("unknown query type {other}").into()),
    };
    let agg = if let Some(a) = v.get("agg") {
        if a.get("terms").is_some() {
            let req = json!({"a": {"terms": {"field": "kw", "size": 60000}}});
            Some((serde_json::from_value(req)?, true))
        } else {
            let req = json!({"a": {"histogram": {"field": "num",
                "interval": a["interval"].as_i64().ok_or("interval")? as f64}}});
            Some((serde_json::from_value(req)?, false))
        }
    } else {
        None
    };
    Ok(Q {
        qid: v["qid"].as_u64().ok_or("qid")?,
        category: v["category"].as_str().ok_or("category")?.to_string(),
        query,
        sort_num: v.get("sort").and_then(|s| s.as_str()) == Some("num_desc"),
        agg,
    })
}

#[derive(Default)]
struct Outcome {
    top: Option<Vec<(f64, DocAddress)>>,
    count: Option<usize>,
    agg: Option<AggregationResults>,
}

fn run(s: &Searcher, q: &Q, top10: bool) -> Res<Outcome> {
    let mut o = Outcome::default();
    let agg_collector = q
        .agg
        .as_ref()
        .map(|(req, _)| AggregationCollector::from_aggs(req.clone(), Default::default()));
    if !top10 {
        if let Some(ac) = agg_collector {
            let (c, a) = s.search(&*q.query, &(Count, ac))?;
            o.count = Some(c);
            o.agg = Some(a);
        } else {
            o.count = Some(s.search(&*q.query, &Count)?);
        }
        return Ok(o);
    }
    if q.sort_num {
        let c = TopDocs::with_limit(10).order_by_fast_field::<i64>("num", Order::Desc);
        let top = s.search(&*q.query, &c)?;
        o.top = Some(top.into_iter().map(|(v, a)| (v.unwrap_or(i64::MIN) as f64, a)).collect());
    } else if let Some(ac) = agg_collector {
        let (top, a) = s.search(&*q.query, &(TopDocs::with_limit(10).order_by_score(), ac))?;
        o.top = Some(top.into_iter().map(|(sc, a)| (sc as f64, a)).collect());
        o.agg = Some(a);
    } else {
        let top = s.search(&*q.query, &TopDocs::with_limit(10).order_by_score())?;
        o.top = Some(top.into_iter().map(|(sc, a)| (sc as f64, a)).collect());
    }
    Ok(o)
}

fn fmt_score(x: f64) -> Value {
    // 6 significant digits, as the other harnesses print them.
    let s = format!("{:.5e}", x);
    Value::from(s.parse::<f64>().unwrap_or(x))
}

fn result_json(s: &Searcher, q: &Q, top10: bool, o: &Outcome, lat: &[u64]) -> Res<Value> {
    let mut r = json!({"qid": q.qid, "mode": if top10 { "TOP_10" } else { "COUNT" }, "lat_us": lat});
    if let Some(c) = o.count {
        r["count"] = json!(c);
    }
    if let Some(top) = &o.top {
        let mut hits = Vec::new();
        for (score, addr) in top {
            let ids = s.segment_reader(addr.segment_ord).fast_fields().u64("id")?;
            let id = ids.first(addr.doc_id).ok_or("doc without id")?;
            hits.push(json!([id, fmt_score(*score)]));
        }
        r["top"] = Value::from(hits);
    }
    if let Some(a) = &o.agg {
        let v = serde_json::to_value(a)?;
        let mut m = BTreeMap::new();
        for b in v["a"]["buckets"].as_array().ok_or("buckets")? {
            let n = b["doc_count"].as_u64().unwrap_or(0);
            if n == 0 {
                continue; // histogram fills gaps with empty buckets; others report none
            }
            let key = match &b["key"] {
                Value::String(k) => k.clone(),
                Value::Number(k) => format!("{}", k.as_f64().unwrap_or(0.0) as i64),
                other => other.to_string(),
            };
            m.insert(key, n);
        }
        r["agg"] = json!(m);
    }
    Ok(r)
}

fn search(dir: &str, queries: &str, results: &str, warmup: usize, passes: usize, qps_sec: f64) -> Res<()> {
    let index = Index::open_in_dir(dir)?;
    let (_, f) = schema();
    let mut qs = Vec::new();
    for line in BufReader::new(File::open(queries)?).lines() {
        let line = line?;
        if !line.trim().is_empty() {
            qs.push(parse_query(&serde_json::from_str(&line)?, &f)?);
        }
    }
    let reader = index.reader()?;
    let s = reader.searcher();
    let modes = [true, false];
    let mut lat = vec![[vec![0u64; passes], vec![0u64; passes]]; qs.len()];
    let mut outcomes: Vec<[Option<Outcome>; 2]> = (0..qs.len()).map(|_| [None, None]).collect();
    for pass in 0..warmup + passes {
        for (i, q) in qs.iter().enumerate() {
            for m in 0..2 {
                let t0 = Instant::now();
                let o = run(&s, q, modes[m])?;
                let us = t0.elapsed().as_micros() as u64;
                if pass >= warmup {
                    lat[i][m][pass - warmup] = us;
                    outcomes[i][m] = Some(o);
                }
            }
        }
    }
    let mut w = BufWriter::new(File::create(results)?);
    for (i, q) in qs.iter().enumerate() {
        for m in 0..2 {
            let o = outcomes[i][m].as_ref().ok_or("no pass")?;
            writeln!(w, "{}", result_json(&s, q, modes[m], o, &lat[i][m])?)?;
        }
    }
    w.flush()?;
    let mut cats: Vec<String> = Vec::new();
    for q in &qs {
        if !cats.contains(&q.category) {
            cats.push(q.category.clone());
        }
    }
    let mut qps = serde_json::Map::new();
    for c in &cats {
        let cq: Vec<&Q> = qs.iter().filter(|q| &q.category == c).collect();
        for m in 0..2 {
            for threads in 1..=2usize {
                let v = throughput(&s, &cq, modes[m], threads, qps_sec)?;
                let key = format!("{}|{}|{}", c, if modes[m] { "TOP_10" } else { "COUNT" }, threads);
                qps.insert(key, json!((v * 10.0).round() / 10.0));
            }
        }
    }
    println!("{}", json!({"engine": "tantivy", "qps": qps, "peak_rss_kb": peak_rss_kb()}));
    Ok(())
}

fn throughput(s: &Searcher, qs: &[&Q], top10: bool, threads: usize, secs: f64) -> Res<f64> {
    let done = AtomicU64::new(0);
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs_f64(secs);
    std::thread::scope(|sc| -> Res<()> {
        let mut hs = Vec::new();
        for t in 0..threads {
            let done = &done;
            hs.push(sc.spawn(move || -> Res<()> {
                let mut i = t;
                let mut n = 0u64;
                while Instant::now() < deadline {
                    run(s, qs[i % qs.len()], top10)?;
                    i += 1;
                    n += 1;
                }
                done.fetch_add(n, Ordering::Relaxed);
                Ok(())
            }));
        }
        for h in hs {
            h.join().map_err(|_| "thread panicked")??;
        }
        Ok(())
    })?;
    Ok(done.load(Ordering::Relaxed) as f64 / t0.elapsed().as_secs_f64())
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let r = match a.get(1).map(|s| s.as_str()) {
        Some("index") if a.len() == 5 => a[4]
            .parse()
            .map_err(|e: std::num::ParseIntError| e.into())
            .and_then(|t| index(&a[2], &a[3], t)),
        Some("search") if a.len() == 8 => (|| -> Res<()> {
            search(&a[2], &a[3], &a[4], a[5].parse()?, a[6].parse()?, a[7].parse()?)
        })(),
        _ => Err("usage: index CORPUS INDEX_DIR THREADS | search INDEX_DIR QUERIES RESULTS WARMUP PASSES QPS_SECONDS".into()),
    };
    if let Err(e) = r {
        eprintln!("tantivy_bench: {e}");
        std::process::exit(1);
    }
}
