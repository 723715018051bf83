#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_rest (fuzz/corpus/rest/): raw HTTP requests as clients
send them, one per file. Run from anywhere: python3 fuzz/make_corpus.py. The files are
committed; rerun after editing the list below. It rewrites every `<name>.http` file and
removes the `.http` files the list no longer has; the other files there (`regression-*`,
inputs a fuzz run found, committed as they were) are kept."""
import gzip
import json
import os
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "rest")


def request(method, target, body=None, headers=None, version="1.1", chunked=False,
            content_type="application/json"):
    lines = [f"{method} {target} HTTP/{version}", "Host: localhost:9200"]
    headers = dict(headers or {})
    raw = b""
    if body is not None:
        raw = body if isinstance(body, bytes) else (
            body if isinstance(body, str) else json.dumps(body)).encode()
        if content_type:
            headers.setdefault("Content-Type", content_type)
        if chunked:
            headers["Transfer-Encoding"] = "chunked"
            cut = max(1, len(raw) // 2)
            raw = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (raw[:cut], raw[cut:]) if p)
            raw += b"0\r\n\r\n"
        else:
            headers["Content-Length"] = str(len(raw))
    for name, value in headers.items():
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + raw


def ndjson(*docs):
    return "".join(json.dumps(d) + "\n" for d in docs)


MAPPINGS = {"properties": {"title": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
                           "tag": {"type": "keyword"}, "n": {"type": "long"},
                           "when": {"type": "date"}, "price": {"type": "double"},
                           "user": {"properties": {"name": {"type": "keyword"}}}}}
SEARCH = {"query": {"bool": {"must": [{"match": {"title": "quick fox"}}],
                             "filter": [{"term": {"tag": "a"}},
                                        {"range": {"n": {"gte": 1, "lt": 100}}}],
                             "should": [{"match_phrase": {"title": "brown fox"}}],
                             "must_not": [{"exists": {"field": "deleted"}}]}},
          "from": 0, "size": 5, "sort": [{"n": "desc"}, "_score"],
          "_source": {"includes": ["title", "n"]}, "track_total_hits": True,
          "highlight": {"fields": {"title": {}}},
          "aggs": {"tags": {"terms": {"field": "tag", "size": 3},
                            "aggs": {"avg_n": {"avg": {"field": "n"}}}},
                   "hist": {"histogram": {"field": "n", "interval": 10}},
                   "days": {"date_histogram": {"field": "when", "calendar_interval": "day"}},
                   "f": {"filter": {"term": {"tag": "b"}}}}}

SEEDS = {
    "root": request("GET", "/"),
    "root_head": request("HEAD", "/"),
    "root_pretty": request("GET", "/?pretty&human&error_trace=true&filter_path=version.*,-version.build_*"),
    "root_http10": request("GET", "/", version="1.0"),
    "cluster_health": request("GET", "/_cluster/health?level=indices&wait_for_status=yellow&timeout=1s"),
    "health_missing_index": request("GET", "/_cluster/health/no_such_index"),
    "cluster_state": request("GET", "/_cluster/state/metadata,routing_table/logs?pretty"),
    "cluster_settings": request("PUT", "/_cluster/settings", {"persistent": {"cluster.routing.allocation.enable": "all"}}),
    "nodes": request("GET", "/_nodes/http?filter_path=nodes.*.version,nodes.*.http.publish_address,nodes.*.ip"),
    "nodes_stats": request("GET", "/_nodes/stats"),
    "cat_indices": request("GET", "/_cat/indices?v&h=index,health,docs.count&s=index:desc&bytes=kb"),
    "cat_health_json": request("GET", "/_cat/health?format=json"),
    "cat_shards": request("GET", "/_cat/shards/logs?v"),
    "cat_count": request("GET", "/_cat/count/logs?v"),
    "create_index": request("PUT", "/logs", {"settings": {"number_of_shards": 2, "number_of_replicas": 0, "refresh_interval": "1s"}, "mappings": MAPPINGS}),
    "create_index_analysis": request("PUT", "/docs%2Dv1?wait_for_active_shards=1", {
        "settings": {"index": {"number_of_shards": 1, "analysis": {
            "analyzer": {"my": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "my_stop"], "char_filter": ["html_strip"]}},
            "filter": {"my_stop": {"type": "stop", "stopwords": ["the", "a"]}}}}},
        "mappings": {"dynamic": "strict", "properties": {"body": {"type": "text", "analyzer": "my"}}},
        "aliases": {"docs": {"is_write_index": True}}}),
    "get_index": request("GET", "/logs,docs*/_mapping"),
    "put_mapping": request("PUT", "/logs/_mapping", {"properties": {"extra": {"type": "keyword", "ignore_above": 10}}}),
    "put_settings": request("PUT", "/logs/_settings", {"index": {"number_of_replicas": 0, "max_result_window": 20000}}),
    "index_doc": request("PUT", "/logs/_doc/1?refresh=true", {"title": "The quick brown fox", "tag": "a", "n": 7, "when": "2024-05-01T10:00:00Z", "user": {"name": "ann"}}),
    "index_doc_auto_id": request("POST", "/logs/_doc?routing=r1&op_type=create", {"title": "jumps over", "tag": ["a", "b"], "n": 42}),
    "create_doc": request("PUT", "/logs/_create/2?if_seq_no=0&if_primary_term=1", {"title": "lazy dog"}),
    "external_version": request("PUT", "/logs/_doc/3?version=5&version_type=external", {"n": 3}),
    "get_doc": request("GET", "/logs/_doc/1?_source_includes=title,n&realtime=true&routing=r1"),
    "get_source": request("GET", "/logs/_source/1"),
    "head_doc": request("HEAD", "/logs/_doc/1"),
    "update_doc": request("POST", "/logs/_update/1?retry_on_conflict=3", {"doc": {"n": 8}, "doc_as_upsert": True}),
    "update_upsert": request("POST", "/logs/_update/9", {"doc": {"n": 1}, "upsert": {"n": 0, "title": "new"}}),
    "delete_doc": request("DELETE", "/logs/_doc/2?refresh=wait_for"),
    "mget": request("POST", "/_mget", {"docs": [{"_index": "logs", "_id": "1"}, {"_index": "missing", "_id": "x"}]}),
    "bulk": request("POST", "/_bulk?refresh=true", ndjson(
        {"index": {"_index": "logs", "_id": "10"}}, {"title": "bulk one", "n": 10, "tag": "b"},
        {"create": {"_index": "logs", "_id": "11"}}, {"title": "bulk two", "when": "2024-05-02"},
        {"update": {"_index": "logs", "_id": "10", "retry_on_conflict": 2}}, {"doc": {"n": 11}},
        {"delete": {"_index": "logs", "_id": "11"}}), content_type="application/x-ndjson"),
    "bulk_index_path_chunked": request("POST", "/logs/_bulk", ndjson(
        {"index": {}}, {"title": "auto", "price": 9.5}, {"index": {"_id": "x"}}, {"n": "not a number"}),
        content_type="application/x-ndjson", chunked=True),
    "bulk_malformed": request("POST", "/_bulk", "{\"index\":{\"_index\":\"logs\"}}\n{bad json\n{\"delete\":{}}\n",
                              content_type="application/x-ndjson"),
    "search": request("POST", "/logs/_search?typed_keys&request_cache=false", SEARCH),
    "search_get_body": request("GET", "/logs,docs/_search", {"query": {"match_all": {}}, "size": 0, "aggs": {"n_stats": {"stats": {"field": "n"}}}}),
    "search_wildcard": request("GET", "/log*,-docs/_search?q=title:fox+AND+n:[1+TO+10]&sort=n:asc&size=2&rest_total_hits_as_int=true"),
    "search_all_after": request("POST", "/_all/_search", {"query": {"range": {"when": {"gte": "now-1y/d", "format": "strict_date_optional_time"}}},
                                                          "sort": [{"when": {"order": "asc", "missing": "_first"}}, {"_id": "asc"}],
                                                          "search_after": ["2024-05-01T10:00:00Z", "1"], "seq_no_primary_term": True, "version": True, "explain": True}),
    "search_fancy_queries": request("POST", "/_search", {"query": {"function_score": {"query": {"multi_match": {"query": "quik brwn", "fields": ["title^2", "tag"], "fuzziness": "AUTO"}},
                                                                                     "functions": [{"field_value_factor": {"field": "n", "missing": 1}}]}},
                                                         "post_filter": {"terms": {"tag": ["a", "b"]}}, "min_score": 0.1,
                                                         "docvalue_fields": ["n"], "terminate_after": 100, "timeout": "1s"}),
    "search_prefix_etc": request("POST", "/logs/_search", {"query": {"dis_max": {"queries": [
        {"prefix": {"tag": "a"}}, {"wildcard": {"title.raw": "*fox*"}}, {"regexp": {"tag": "a.*"}},
        {"ids": {"values": ["1", "2"]}}, {"query_string": {"query": "title:(quick OR lazy) -tag:c"}},
        {"simple_query_string": {"query": "fox +dog", "fields": ["title"]}},
        {"nested": {"path": "user", "query": {"term": {"user.name": "ann"}}}}]}}}),
    "search_aggs_more": request("POST", "/logs/_search?size=0", {"aggs": {
        "r": {"range": {"field": "n", "ranges": [{"to": 5}, {"from": 5, "to": 50}, {"from": 50}]}},
        "card": {"cardinality": {"field": "tag"}}, "pct": {"percentiles": {"field": "n", "percents": [50, 99]}},
        "top": {"terms": {"field": "tag", "order": {"m": "desc"}}, "aggs": {"m": {"max": {"field": "n"}}, "hits": {"top_hits": {"size": 1}}}},
        "missing_tag": {"missing": {"field": "tag"}}, "fs": {"filters": {"filters": {"a": {"term": {"tag": "a"}}}}}}}),
    "count": request("POST", "/logs/_count", {"query": {"term": {"tag": "a"}}}),
    "msearch": request("POST", "/_msearch", ndjson({"index": "logs"}, {"query": {"match_all": {}}, "size": 1}, {}, {"query": {"term": {"tag": "b"}}}),
                       content_type="application/x-ndjson"),
    "scroll_start": request("POST", "/logs/_search?scroll=1m&size=1", {"sort": ["_doc"]}),
    "scroll_next": request("POST", "/_search/scroll", {"scroll": "1m", "scroll_id": "FGluY2x1ZGVfY29udGV4dF91dWlkDXF1ZXJ5QW5kRmV0Y2gBFkE"}),
    "scroll_clear": request("DELETE", "/_search/scroll/_all"),
    "pit_open": request("POST", "/logs/_search/point_in_time?keep_alive=1m"),
    "pit_search": request("POST", "/_search", {"pit": {"id": "bm90LWEtcGl0", "keep_alive": "1m"}, "size": 1}),
    "pit_delete": request("DELETE", "/_search/point_in_time", {"pit_id": ["bm90LWEtcGl0"]}),
    "delete_by_query": request("POST", "/logs/_delete_by_query?conflicts=proceed&slices=1", {"query": {"term": {"tag": "zzz"}}}),
    "update_by_query": request("POST", "/logs/_update_by_query", {"query": {"match_all": {}}}),
    "refresh_flush": request("POST", "/logs/_refresh"),
    "flush": request("POST", "/_flush"),
    "close_open": request("POST", "/logs/_close", "", content_type=None),
    "aliases": request("POST", "/_aliases", {"actions": [{"add": {"index": "logs", "alias": "lg", "filter": {"term": {"tag": "a"}}}}, {"remove": {"index": "logs", "alias": "old"}}]}),
    "put_alias": request("PUT", "/logs/_alias/lg", '{"filter":{"term":{"tag":"a"}},"routing":"1","is_write_index":true}'),
    "get_alias": request("GET", "/_alias/lg,nope,-x*?expand_wildcards=all"),
    "aliases_remove_index": request("POST", "/_aliases", {"actions": [{"add": {"index": "docs-v1", "alias": "logs"}}, {"remove_index": {"index": "logs"}}]}),
    "search_highlight_options": request("POST", "/logs/_search", {"query": {"match": {"title": "fox"}}, "highlight": {"type": "unified", "order": "score", "pre_tags": ["<b>"], "post_tags": ["</b>"], "fields": [{"title": {"fragment_size": 20, "number_of_fragments": 2, "matched_fields": ["title"]}}]}}),
    "search_typed_keys": request("POST", "/logs/_search?typed_keys=true&size=0", {"aggs": {"t": {"terms": {"field": "tag"}, "aggs": {"p": {"percentiles": {"field": "n"}}, "h": {"histogram": {"field": "n", "interval": 5}}}}}}),
    "index_template": request("PUT", "/_index_template/t1", {"index_patterns": ["tpl-*"], "template": {"settings": {"number_of_shards": 1}, "mappings": MAPPINGS}, "priority": 5}),
    "legacy_template": request("PUT", "/_template/t2", {"index_patterns": ["old-*"], "order": 1, "settings": {"number_of_shards": 1}}),
    "stats": request("GET", "/logs/_stats/docs,store,indexing,search"),
    "analyze": request("POST", "/_analyze", {"analyzer": "english", "text": "The Quick Foxes jumped"}),
    "field_caps": request("GET", "/logs/_field_caps?fields=t*,n"),
    "delete_index": request("DELETE", "/docs-v1"),
    "gzip_search": request("POST", "/logs/_search", gzip.compress(json.dumps(SEARCH).encode(), mtime=0),
                           headers={"Content-Encoding": "gzip", "Accept-Encoding": "gzip, deflate"}),
    "deflate_bulk": request("POST", "/_bulk", zlib.compress(ndjson({"index": {"_index": "z", "_id": "1"}}, {"a": 1}).encode()),
                            headers={"Content-Encoding": "deflate"}, content_type="application/x-ndjson"),
    "expect_continue": request("PUT", "/logs/_doc/7", {"title": "continue"}, headers={"Expect": "100-continue"}),
    "pipelined": request("GET", "/_cluster/health") + request("GET", "/"),
    # Malformed and hostile requests.
    "bad_json": request("POST", "/logs/_search", "{\"query\": {\"match\": {\"title\": }"),
    "bad_dsl": request("POST", "/logs/_search", {"query": {"no_such_query": {}}, "size": -1}),
    "bad_percent": request("GET", "/%zz/_doc/%4?q=%"),
    "bad_method": request("PROPFIND", "/logs"),
    "wrong_method": request("DELETE", "/_cluster/health"),
    "text_plain": request("POST", "/logs/_doc/1", "hello", content_type="text/plain"),
    "no_content_type": request("POST", "/logs/_doc/1", "{}", content_type=None),
    "huge_content_length": b"POST /_bulk HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n{}",
    "bad_chunk_size": b"POST /_bulk HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    "corrupt_gzip": request("POST", "/_search", b"\x1f\x8b\x08\x00garbage", headers={"Content-Encoding": "gzip"}),
    "deep_json": request("POST", "/_search", "{\"query\":" * 200 + "{}" + "}" * 200),
    "unicode_index": request("PUT", "/%C3%A9t%C3%A9/_doc/%F0%9F%98%80", {"title": "caf\u00e9 \U0001F600"}),
    "invalid_index_name": request("PUT", "/_Bad*Name", {}),
    "no_host_http10_keepalive": b"GET /_cat/nodes?v HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        if name.endswith(".http") and name[:-len(".http")] not in SEEDS:
            os.remove(os.path.join(OUT, name))
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, name + ".http"), "wb") as f:
            f.write(data)
    print(f"{len(SEEDS)} seeds in {OUT}")


if __name__ == "__main__":
    main()
