package quidditch.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.standard.StandardAnalyzer;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.LongPoint;
import org.apache.lucene.document.NumericDocValuesField;
import org.apache.lucene.document.SortedDocValuesField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.LogByteSizeMergePolicy;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.index.ReaderUtil;
import org.apache.lucene.index.SortedDocValues;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.Collector;
import org.apache.lucene.search.FieldDoc;
import org.apache.lucene.search.FuzzyQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.LeafCollector;
import org.apache.lucene.search.MultiCollector;
import org.apache.lucene.search.MultiTermQuery;
import org.apache.lucene.search.PhraseQuery;
import org.apache.lucene.search.PrefixQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.Scorable;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.ScoreMode;
import org.apache.lucene.search.Sort;
import org.apache.lucene.search.SortField;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.TopScoreDocCollector;
import org.apache.lucene.search.WildcardQuery;
import org.apache.lucene.search.similarities.BM25Similarity;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.util.BytesRef;

/**
 * Lucene side of the engine benchmark (protocol: bench/engine/README.md).
 *
 * <pre>
 *   index  CORPUS.jsonl INDEX_DIR THREADS
 *   search INDEX_DIR QUERIES.jsonl RESULTS.jsonl WARMUP_PASSES PASSES QPS_SECONDS
 * </pre>
 *
 * StandardAnalyzer without stop words, BM25Similarity(1.2, 0.75), no query cache,
 * single-threaded IndexSearcher (no executor). Score ties are broken by Lucene doc id, which
 * is the corpus id: the 1-thread index adds documents in corpus order and merges with an
 * order-preserving policy (LogByteSizeMergePolicy) into one segment.
 */
public final class LuceneBench {
  static final BM25Similarity BM25 = new BM25Similarity(1.2f, 0.75f);

  record Doc(long id, String text, String kw, long num) {}

  record Q(long qid, String category, Query query, boolean sortNum, String aggTerms,
      String aggHisto, long interval) {}

  public static void main(String[] args) throws Exception {
    if (args.length == 4 && args[0].equals("index")) {
      index(Paths.get(args[1]), Paths.get(args[2]), Integer.parseInt(args[3]));
    } else if (args.length == 7 && args[0].equals("search")) {
      search(Paths.get(args[1]), Paths.get(args[2]), Paths.get(args[3]),
          Integer.parseInt(args[4]), Integer.parseInt(args[5]), Double.parseDouble(args[6]));
    } else {
      System.err.println("usage: index CORPUS INDEX_DIR THREADS | search INDEX_DIR QUERIES "
          + "RESULTS WARMUP PASSES QPS_SECONDS");
      System.exit(2);
    }
  }

  static long peakRssKb() throws IOException {
    for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
      if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
    }
    return -1;
  }

  static long dirBytes(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.mapToLong(p -> p.toFile().length()).sum();
    }
  }

  static List<Doc> load(Path corpus) throws IOException {
    List<Doc> docs = new ArrayList<>();
    try (BufferedReader r = Files.newBufferedReader(corpus, StandardCharsets.UTF_8)) {
      String line;
      while ((line = r.readLine()) != null) {
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) MiniJson.parse(line);
        docs.add(new Doc((Long) m.get("id"), (String) m.get("text"), (String) m.get("kw"),
            (Long) m.get("num")));
      }
    }
    return docs;
  }

  static Document luceneDoc(Doc d) {
    Document doc = new Document();
    doc.add(new TextField("text", d.text(), Field.Store.NO));
    doc.add(new StringField("kw", d.kw(), Field.Store.NO));
    doc.add(new SortedDocValuesField("kw", new BytesRef(d.kw())));
    doc.add(new LongPoint("num", d.num()));
    doc.add(new NumericDocValuesField("num", d.num()));
    doc.add(new NumericDocValuesField("id", d.id()));
    return doc;
  }

  static void index(Path corpus, Path dir, int threads) throws Exception {
    List<Doc> docs = load(corpus);
    IndexWriterConfig iwc = new IndexWriterConfig(new StandardAnalyzer(CharArraySet.EMPTY_SET));
    iwc.setSimilarity(BM25);
    iwc.setOpenMode(IndexWriterConfig.OpenMode.CREATE);
    iwc.setRAMBufferSizeMB(256);
    iwc.setMergePolicy(new LogByteSizeMergePolicy());
    try (Directory d = FSDirectory.open(dir); IndexWriter w = new IndexWriter(d, iwc)) {
      long t0 = System.nanoTime();
      Thread[] ts = new Thread[threads];
      Exception[] err = new Exception[1];
      int n = docs.size();
      for (int t = 0; t < threads; t++) {
        int lo = (int) ((long) n * t / threads);
        int hi = (int) ((long) n * (t + 1) / threads);
        ts[t] = new Thread(() -> {
          try {
            for (int i = lo; i < hi; i++) w.addDocument(luceneDoc(docs.get(i)));
          } catch (Exception e) {
            synchronized (err) {
              err[0] = e;
            }
          }
        });
        ts[t].start();
      }
      for (Thread t : ts) t.join();
      if (err[0] != null) throw err[0];
      w.commit();
      double indexSec = (System.nanoTime() - t0) / 1e9;
      long t1 = System.nanoTime();
      // Only the 1-thread index is searched and measured for size: merge it to one segment.
      if (threads == 1) {
        w.forceMerge(1);
        w.commit();
      }
      double mergeSec = (System.nanoTime() - t1) / 1e9;
      int segments;
      try (DirectoryReader r = DirectoryReader.open(d)) {
        segments = r.leaves().size();
      }
      long bytes = dirBytes(dir);
      System.out.printf(Locale.ROOT,
          "{\"engine\":\"lucene\",\"threads\":%d,\"docs\":%d,\"index_seconds\":%.3f,"
              + "\"docs_per_s\":%.1f,\"merge_seconds\":%.3f,\"segments\":%d,\"index_bytes\":%d,"
              + "\"bytes_per_doc\":%.2f,\"peak_rss_kb\":%d}%n",
          threads, n, indexSec, n / indexSec, mergeSec, segments, bytes, (double) bytes / n,
          peakRssKb());
    }
  }

  @SuppressWarnings("unchecked")
  static Q parseQuery(String line) {
    Map<String, Object> m = (Map<String, Object>) MiniJson.parse(line);
    Map<String, Object> q = (Map<String, Object>) m.get("query");
    String type = (String) q.get("type");
    Query query;
    switch (type) {
      case "term":
        query = new TermQuery(new Term("text", (String) q.get("term")));
        break;
      case "and":
      case "or": {
        BooleanQuery.Builder b = new BooleanQuery.Builder();
        for (Object t : (List<Object>) q.get("terms")) {
          b.add(new TermQuery(new Term("text", (String) t)),
              type.equals("and") ? BooleanClause.Occur.MUST : BooleanClause.Occur.SHOULD);
        }
        query = b.build();
        break;
      }
      case "phrase":
        query = new PhraseQuery("text",
            ((List<Object>) q.get("terms")).stream().map(o -> (String) o).toArray(String[]::new));
        break;
      case "prefix":
        query = new PrefixQuery(new Term("text", (String) q.get("prefix")));
        break;
      case "wildcard":
        query = new WildcardQuery(new Term("text", (String) q.get("pattern")));
        break;
      case "fuzzy":
        // All expansions, constant score, transpositions cost 1, no common prefix.
        query = new FuzzyQuery(new Term("text", (String) q.get("term")),
            ((Long) q.get("edits")).intValue(), 0, 50, true,
            MultiTermQuery.CONSTANT_SCORE_BLENDED_REWRITE);
        break;
      case "range":
        query = LongPoint.newRangeQuery("num", (Long) q.get("gte"), (Long) q.get("lte"));
        break;
      default:
        throw new IllegalArgumentException("unknown query type " + type);
    }
    Map<String, Object> agg = (Map<String, Object>) m.get("agg");
    String aggTerms = agg == null ? null : (String) agg.get("terms");
    String aggHisto = agg == null ? null : (String) agg.get("histogram");
    long interval = aggHisto == null ? 0 : (Long) agg.get("interval");
    return new Q((Long) m.get("qid"), (String) m.get("category"), query,
        "num_desc".equals(m.get("sort")), aggTerms, aggHisto, interval);
  }

  /** Counts matches and, if asked, kw values or histogram buckets of num. */
  static final class AggCollector implements Collector {
    final Q q;
    long count;
    final Map<String, Long> terms = new TreeMap<>();
    final Map<Long, Long> histo = new HashMap<>();

    AggCollector(Q q) {
      this.q = q;
    }

    @Override
    public ScoreMode scoreMode() {
      return ScoreMode.COMPLETE_NO_SCORES;
    }

    @Override
    public LeafCollector getLeafCollector(LeafReaderContext ctx) throws IOException {
      if (q.aggTerms() != null) {
        SortedDocValues dv = ctx.reader().getSortedDocValues("kw");
        int[] ords = new int[dv == null ? 0 : dv.getValueCount()];
        return new LeafCollector() {
          @Override
          public void setScorer(Scorable s) {}

          @Override
          public void collect(int doc) throws IOException {
            count++;
            if (dv != null && dv.advanceExact(doc)) ords[dv.ordValue()]++;
          }

          @Override
          public void finish() throws IOException {
            for (int o = 0; o < ords.length; o++) {
              if (ords[o] > 0) terms.merge(dv.lookupOrd(o).utf8ToString(), (long) ords[o], Long::sum);
            }
          }
        };
      }
      NumericDocValues dv = q.aggHisto() != null ? ctx.reader().getNumericDocValues("num") : null;
      long interval = q.interval();
      return new LeafCollector() {
        @Override
        public void setScorer(Scorable s) {}

        @Override
        public void collect(int doc) throws IOException {
          count++;
          if (dv != null && dv.advanceExact(doc)) {
            histo.merge(Math.floorDiv(dv.longValue(), interval) * interval, 1L, Long::sum);
          }
        }
      };
    }
  }

  /** What one execution returns; ids are resolved outside the timed part. */
  static final class Outcome {
    TopDocs top;
    long count = -1;
    AggCollector agg;
  }

  static Outcome run(IndexSearcher s, Q q, boolean top10) throws IOException {
    Outcome o = new Outcome();
    boolean hasAgg = q.aggTerms() != null || q.aggHisto() != null;
    if (!top10) {
      if (hasAgg) {
        o.agg = new AggCollector(q);
        s.search(q.query(), o.agg);
        o.count = o.agg.count;
      } else {
        o.count = s.count(q.query());
      }
      return o;
    }
    if (q.sortNum()) {
      o.top = s.search(q.query(), 10, new Sort(new SortField("num", SortField.Type.LONG, true)));
    } else if (hasAgg) {
      TopScoreDocCollector tc = TopScoreDocCollector.create(10, 1000);
      o.agg = new AggCollector(q);
      s.search(q.query(), MultiCollector.wrap(tc, o.agg));
      o.top = tc.topDocs();
    } else {
      o.top = s.search(q.query(), 10);
    }
    return o;
  }

  static String resultJson(DirectoryReader reader, Q q, boolean top10, Outcome o, long[] lat)
      throws IOException {
    StringBuilder b = new StringBuilder();
    b.append("{\"qid\":").append(q.qid()).append(",\"mode\":\"")
        .append(top10 ? "TOP_10" : "COUNT").append('"');
    if (o.count >= 0) b.append(",\"count\":").append(o.count);
    if (o.top != null) {
      b.append(",\"top\":[");
      for (int i = 0; i < o.top.scoreDocs.length; i++) {
        ScoreDoc sd = o.top.scoreDocs[i];
        LeafReaderContext ctx = reader.leaves().get(ReaderUtil.subIndex(sd.doc, reader.leaves()));
        NumericDocValues ids = ctx.reader().getNumericDocValues("id");
        if (!ids.advanceExact(sd.doc - ctx.docBase)) throw new IllegalStateException("no id");
        double score = sd.score;
        if (q.sortNum()) score = ((Long) ((FieldDoc) sd).fields[0]).doubleValue();
        b.append(i == 0 ? "" : ",").append('[').append(ids.longValue()).append(',')
            .append(String.format(Locale.ROOT, "%.6g", score)).append(']');
      }
      b.append(']');
    }
    if (o.agg != null) {
      b.append(",\"agg\":{");
      boolean first = true;
      if (q.aggTerms() != null) {
        for (Map.Entry<String, Long> e : o.agg.terms.entrySet()) {
          b.append(first ? "" : ",").append(MiniJson.quote(e.getKey())).append(':')
              .append(e.getValue());
          first = false;
        }
      } else {
        for (Map.Entry<Long, Long> e : new TreeMap<>(o.agg.histo).entrySet()) {
          b.append(first ? "" : ",").append('"').append(e.getKey()).append("\":")
              .append(e.getValue());
          first = false;
        }
      }
      b.append('}');
    }
    b.append(",\"lat_us\":[");
    for (int i = 0; i < lat.length; i++) b.append(i == 0 ? "" : ",").append(lat[i]);
    return b.append("]}").toString();
  }

  static void search(Path dir, Path queries, Path results, int warmup, int passes,
      double qpsSeconds) throws Exception {
    List<Q> qs = new ArrayList<>();
    for (String line : Files.readAllLines(queries, StandardCharsets.UTF_8)) {
      if (!line.isBlank()) qs.add(parseQuery(line));
    }
    try (Directory d = FSDirectory.open(dir); DirectoryReader reader = DirectoryReader.open(d)) {
      IndexSearcher s = new IndexSearcher(reader);
      s.setSimilarity(BM25);
      s.setQueryCache(null);
      boolean[] modes = {true, false};
      long[][][] lat = new long[qs.size()][2][passes];
      Outcome[][] outcomes = new Outcome[qs.size()][2];
      for (int pass = 0; pass < warmup + passes; pass++) {
        for (int i = 0; i < qs.size(); i++) {
          for (int m = 0; m < 2; m++) {
            long t0 = System.nanoTime();
            Outcome o = run(s, qs.get(i), modes[m]);
            long us = (System.nanoTime() - t0) / 1000;
            if (pass >= warmup) {
              lat[i][m][pass - warmup] = us;
              outcomes[i][m] = o;
            }
          }
        }
      }
      try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(results))) {
        for (int i = 0; i < qs.size(); i++) {
          for (int m = 0; m < 2; m++) {
            w.println(resultJson(reader, qs.get(i), modes[m], outcomes[i][m], lat[i][m]));
          }
        }
      }
      // Throughput: each category and mode alone, 1 and 2 client threads on one searcher.
      Map<String, List<Q>> byCat = new LinkedHashMap<>();
      for (Q q : qs) byCat.computeIfAbsent(q.category(), k -> new ArrayList<>()).add(q);
      StringBuilder qps = new StringBuilder();
      for (Map.Entry<String, List<Q>> e : byCat.entrySet()) {
        for (int m = 0; m < 2; m++) {
          for (int threads = 1; threads <= 2; threads++) {
            double v = throughput(s, e.getValue(), modes[m], threads, qpsSeconds);
            qps.append(qps.length() == 0 ? "" : ",")
                .append(String.format(Locale.ROOT, "\"%s|%s|%d\":%.1f", e.getKey(),
                    modes[m] ? "TOP_10" : "COUNT", threads, v));
          }
        }
      }
      System.out.printf(Locale.ROOT, "{\"engine\":\"lucene\",\"qps\":{%s},\"peak_rss_kb\":%d}%n",
          qps, peakRssKb());
    }
  }

  static double throughput(IndexSearcher s, List<Q> qs, boolean top10, int threads,
      double seconds) throws Exception {
    AtomicLong done = new AtomicLong();
    long deadline = System.nanoTime() + (long) (seconds * 1e9);
    Thread[] ts = new Thread[threads];
    Exception[] err = new Exception[1];
    long t0 = System.nanoTime();
    for (int t = 0; t < threads; t++) {
      int offset = t;
      ts[t] = new Thread(() -> {
        try {
          long n = 0;
          for (int i = offset; System.nanoTime() < deadline; i++, n++) {
            run(s, qs.get(i % qs.size()), top10);
          }
          done.addAndGet(n);
        } catch (Exception ex) {
          synchronized (err) {
            err[0] = ex;
          }
        }
      });
      ts[t].start();
    }
    for (Thread t : ts) t.join();
    if (err[0] != null) throw err[0];
    return done.get() / ((System.nanoTime() - t0) / 1e9);
  }
}
