"""The official opensearch-py client against a real quidditch node.

What a user of the Python client relies on, checked against what OpenSearch 2.19 answers: the
helpers (bulk, streaming_bulk, parallel_bulk, scan, reindex), documents, search with
aggregations, scroll and point in time, and the indices, cluster and cat clients, including the
exception classes and error types the client raises.

Tests marked xfail(strict=True) are features not implemented yet: they must fail, and turn the
suite red when they start passing so the marker gets removed.
"""

import datetime
import re

import pytest
from opensearchpy import ConflictError, NotFoundError, RequestError, TransportError, helpers
from opensearchpy.helpers import BulkIndexError

# --- helpers ------------------------------------------------------------------------------------


def create(client, name, shards=1, replicas=0, mappings=None, **settings):
    body = {"settings": {"number_of_shards": shards, "number_of_replicas": replicas, **settings}}
    if mappings is not None:
        body["mappings"] = mappings
    return client.indices.create(index=name, body=body)


def load(client, name, docs):
    """Indexes {id: source} with one bulk request and refreshes."""
    actions = [{"_index": name, "_id": i, "_source": src} for i, src in docs.items()]
    ok, errors = helpers.bulk(client, actions, refresh=True)
    assert (ok, errors) == (len(docs), [])


def total(resp):
    return resp["hits"]["total"]["value"]


def ids(resp):
    return [h["_id"] for h in resp["hits"]["hits"]]


def not_implemented(what):
    return pytest.mark.xfail(strict=True, reason=f"not implemented: {what}")


def known_bug(what):
    return pytest.mark.xfail(strict=True, reason=f"bug: {what}")


# --- root and cluster ---------------------------------------------------------------------------


def test_info_and_ping(client, node):
    info = client.info()
    assert info["version"]["distribution"] == "opensearch"
    assert info["version"]["number"] == "2.19.0"
    assert info["cluster_name"] == node.cluster_name
    assert info["name"] == node.node_id
    assert info["tagline"] == "The OpenSearch Project: https://opensearch.org/"
    assert client.ping() is True


def test_cluster_uuid_is_assigned(client):
    # OpenSearch answers "_na_" only before the cluster formed; a running node has a 22-character
    # URL-safe base64 UUID, the same in GET / and in the cluster state.
    uuid = client.info()["cluster_uuid"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", uuid), uuid
    assert client.cluster.state(metric="metadata")["metadata"]["cluster_uuid"] == uuid


# opensearch-py takes `timeout` for its own socket timeout unless request_timeout is given: the
# calls below pass both so that `timeout` reaches the server.


def test_cluster_health(client, index, node):
    health = client.cluster.health()
    assert health["cluster_name"] == node.cluster_name
    assert health["number_of_nodes"] == 1
    assert health["number_of_data_nodes"] == 1
    assert health["timed_out"] is False
    # One node: replicas stay unassigned, the index (and so the cluster) is yellow.
    create(client, index, shards=2, replicas=1)
    h = client.cluster.health(index=index, wait_for_status="yellow", timeout="30s",
                              request_timeout=60)
    assert h["status"] == "yellow"
    assert h["active_primary_shards"] == 2
    assert h["unassigned_shards"] == 2
    green = index + "-green"
    create(client, green, shards=3, replicas=0)
    h = client.cluster.health(index=green, wait_for_status="green", timeout="30s",
                              level="indices", request_timeout=60)
    assert h["status"] == "green" and h["timed_out"] is False
    assert h["indices"][green]["status"] == "green"
    assert h["indices"][green]["number_of_shards"] == 3
    assert h["indices"][green]["active_primary_shards"] == 3


def test_cluster_health_of_missing_index(client):
    # Not a 404: OpenSearch treats a missing index as red, waits out the timeout and answers
    # 408 with the (red, timed out) health.
    with pytest.raises(TransportError) as e:
        client.cluster.health(index="no-such-index-health", timeout="1s", request_timeout=60)
    assert e.value.status_code == 408
    assert (e.value.info["status"], e.value.info["timed_out"]) == ("red", True)


def test_cluster_state(client, index, node):
    create(client, index, shards=2)
    state = client.cluster.state(metric="metadata,routing_table")
    meta = state["metadata"]["indices"][index]
    assert meta["state"] == "open"
    assert meta["settings"]["index"]["number_of_shards"] == "2"
    assert meta["settings"]["index"]["number_of_replicas"] == "0"
    shards = state["routing_table"]["indices"][index]["shards"]
    assert sorted(shards) == ["0", "1"]
    for copies in shards.values():
        assert [(c["primary"], c["state"]) for c in copies] == [(True, "STARTED")]
    full = client.cluster.state()
    assert full["cluster_name"] == node.cluster_name
    assert node.node_id in full["nodes"]


def test_cluster_state_of_one_index(client, index):
    create(client, index)
    other = index + "-other"
    create(client, other)
    state = client.cluster.state(metric="metadata", index=index)
    assert list(state["metadata"]["indices"]) == [index]


def test_nodes_info(client, node):
    # What OpenSearch Dashboards reads: version, http.publish_address, ip.
    info = client.nodes.info(filter_path="nodes.*.version,nodes.*.http.publish_address,nodes.*.ip")
    [n] = info["nodes"].values()
    assert n["version"] == "2.19.0"
    assert n["ip"] == "127.0.0.1"
    assert n["http"]["publish_address"] == f"127.0.0.1:{node.http_port}"


# --- indices ------------------------------------------------------------------------------------

MAPPINGS = {"properties": {"title": {"type": "text"}, "tag": {"type": "keyword"},
                           "n": {"type": "long"}}}


def test_create_get_delete_index(client, index):
    resp = create(client, index, shards=2, replicas=0, mappings=MAPPINGS, refresh_interval="1s")
    assert resp == {"acknowledged": True, "shards_acknowledged": True, "index": index}
    assert client.indices.exists(index=index) is True
    got = client.indices.get(index=index)[index]
    s = got["settings"]["index"]
    assert (s["number_of_shards"], s["number_of_replicas"]) == ("2", "0")
    assert s["provided_name"] == index
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", s["uuid"])
    assert re.fullmatch(r"\d{13}", s["creation_date"])
    assert got["mappings"] == MAPPINGS
    assert got["aliases"] == {}
    assert client.indices.delete(index=index) == {"acknowledged": True}
    assert client.indices.exists(index=index) is False
    with pytest.raises(NotFoundError) as e:
        client.indices.get(index=index)
    assert e.value.error == "index_not_found_exception"
    assert e.value.info["error"]["index"] == index


def test_settings_given_at_creation_are_shown(client, index):
    create(client, index, refresh_interval="1s", max_result_window=500)
    for s in (client.indices.get(index=index)[index]["settings"]["index"],
              client.indices.get_settings(index=index)[index]["settings"]["index"]):
        assert (s["refresh_interval"], s["max_result_window"]) == ("1s", "500")


def test_create_existing_index(client, index):
    create(client, index)
    with pytest.raises(RequestError) as e:
        create(client, index)
    assert e.value.status_code == 400
    assert e.value.error == "resource_already_exists_exception"
    assert e.value.info["error"]["reason"].startswith(f"index [{index}/")


@pytest.mark.parametrize("name", ["UPPER", "_under", "with space", "a*b", "a,b", "..", "a#b"])
def test_invalid_index_names(client, name):
    with pytest.raises(RequestError) as e:
        client.indices.create(index=name)
    assert e.value.error == "invalid_index_name_exception"


def test_missing_index(client):
    assert client.indices.exists(index="missing-index-xyz") is False
    for call in (lambda: client.indices.delete(index="missing-index-xyz"),
                 lambda: client.indices.get_mapping(index="missing-index-xyz"),
                 lambda: client.search(index="missing-index-xyz"),
                 lambda: client.get(index="missing-index-xyz", id="1")):
        with pytest.raises(NotFoundError) as e:
            call()
        assert e.value.error == "index_not_found_exception"


def test_mapping(client, index):
    create(client, index, mappings=MAPPINGS)
    assert client.indices.get_mapping(index=index) == {index: {"mappings": MAPPINGS}}
    assert client.indices.put_mapping(index=index, body={
        "properties": {"extra": {"type": "keyword"}}}) == {"acknowledged": True}
    props = client.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    assert props["extra"] == {"type": "keyword"} and props["tag"] == {"type": "keyword"}
    # Changing a field's type is rejected, the mapping stays.
    with pytest.raises(RequestError) as e:
        client.indices.put_mapping(index=index, body={"properties": {"tag": {"type": "long"}}})
    assert e.value.error == "illegal_argument_exception"
    assert "cannot be changed from type [keyword] to [long]" in e.value.info["error"]["reason"]
    props = client.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    assert props["tag"] == {"type": "keyword"}


def test_bad_mapping_is_mapper_parsing_exception(client, index):
    with pytest.raises(RequestError) as e:
        create(client, index, mappings={"properties": {"f": {"type": "no_such_type"}}})
    assert e.value.error == "mapper_parsing_exception"
    assert client.indices.exists(index=index) is False


def test_settings(client, index):
    create(client, index, shards=1, replicas=0)
    s = client.indices.get_settings(index=index)[index]["settings"]["index"]
    assert s["number_of_shards"] == "1"
    assert client.indices.put_settings(index=index, body={
        "index": {"refresh_interval": "5s", "number_of_replicas": 0}}) == {"acknowledged": True}
    s = client.indices.get_settings(index=index)[index]["settings"]["index"]
    assert s["refresh_interval"] == "5s"
    # number_of_shards is fixed at creation.
    with pytest.raises(RequestError) as e:
        client.indices.put_settings(index=index, body={"index": {"number_of_shards": 3}})
    assert e.value.error == "illegal_argument_exception"
    assert client.indices.get_settings(index=index)[index]["settings"]["index"][
        "number_of_shards"] == "1"


def test_refresh_makes_documents_searchable(client, index):
    create(client, index, shards=2, refresh_interval="-1")
    client.index(index=index, id="1", body={"a": 1})
    assert client.count(index=index)["count"] == 0
    r = client.indices.refresh(index=index)
    assert r["_shards"] == {"total": 2, "successful": 2, "failed": 0}
    assert client.count(index=index)["count"] == 1


def test_analyze(client):
    r = client.indices.analyze(body={"analyzer": "standard", "text": "Hello, World 42"})
    assert [(t["token"], t["start_offset"], t["end_offset"], t["type"], t["position"])
            for t in r["tokens"]] == [("hello", 0, 5, "<ALPHANUM>", 0),
                                      ("world", 7, 12, "<ALPHANUM>", 1),
                                      ("42", 13, 15, "<NUM>", 2)]


def test_analyze_with_index_field_analyzer(client, index):
    create(client, index, mappings={"properties": {
        "k": {"type": "text", "analyzer": "whitespace"}}})
    r = client.indices.analyze(index=index, body={"field": "k", "text": "Hello World"})
    assert [t["token"] for t in r["tokens"]] == ["Hello", "World"]


def test_custom_analyzer_from_index_settings(client, index):
    create(client, index, analysis={
        "analyzer": {"folded": {"type": "custom", "tokenizer": "standard",
                                "filter": ["lowercase", "asciifolding", "my_stop"]}},
        "filter": {"my_stop": {"type": "stop", "stopwords": ["the"]}}},
        mappings={"properties": {"t": {"type": "text", "analyzer": "folded"}}})
    r = client.indices.analyze(index=index, body={"analyzer": "folded",
                                                  "text": "The Café Crème"})
    assert [t["token"] for t in r["tokens"]] == ["cafe", "creme"]
    client.index(index=index, id="1", body={"t": "Crème brûlée"}, refresh=True)
    assert ids(client.search(index=index, body={"query": {"match": {"t": "CREME"}}})) == ["1"]
    got = client.indices.get_settings(index=index)[index]["settings"]["index"]
    assert got["analysis"]["analyzer"]["folded"]["tokenizer"] == "standard"


def test_unknown_analyzer_is_rejected(client, index):
    with pytest.raises(RequestError) as e:
        create(client, index, mappings={"properties": {"t": {"type": "text",
                                                             "analyzer": "nope"}}})
    assert e.value.error == "mapper_parsing_exception"
    assert "analyzer [nope] has not been configured in mappings" in str(e.value.info)


# --- documents ----------------------------------------------------------------------------------


def test_index_get_update_delete(client, index):
    create(client, index)
    r = client.index(index=index, id="1", body={"title": "one", "n": 1})
    assert (r["_index"], r["_id"], r["result"], r["_version"]) == (index, "1", "created", 1)
    assert r["_shards"] == {"total": 1, "successful": 1, "failed": 0}
    assert r["_seq_no"] == 0 and r["_primary_term"] == 1
    r = client.index(index=index, id="1", body={"title": "one again", "n": 2})
    assert (r["result"], r["_version"], r["_seq_no"]) == ("updated", 2, 1)

    g = client.get(index=index, id="1")
    assert g["found"] is True
    assert (g["_index"], g["_id"], g["_version"], g["_seq_no"], g["_primary_term"]) == (
        index, "1", 2, 1, 1)
    assert g["_source"] == {"title": "one again", "n": 2}
    assert client.get_source(index=index, id="1") == {"title": "one again", "n": 2}
    assert client.exists(index=index, id="1") is True
    assert client.exists(index=index, id="2") is False

    u = client.update(index=index, id="1", body={"doc": {"n": 3, "extra": True}})
    assert (u["result"], u["_version"]) == ("updated", 3)
    assert client.get(index=index, id="1")["_source"] == {"title": "one again", "n": 3,
                                                          "extra": True}
    # The same partial doc again changes nothing.
    u = client.update(index=index, id="1", body={"doc": {"n": 3}})
    assert (u["result"], u["_version"]) == ("noop", 3)

    d = client.delete(index=index, id="1")
    assert (d["result"], d["_version"]) == ("deleted", 4)
    with pytest.raises(NotFoundError) as e:
        client.get(index=index, id="1")
    assert e.value.info == {"_index": index, "_id": "1", "found": False}
    with pytest.raises(NotFoundError) as e:
        client.delete(index=index, id="1")
    assert e.value.info["result"] == "not_found"


def test_source_filtering_on_get(client, index):
    create(client, index)
    client.index(index=index, id="1", body={"a": 1, "b": {"c": 2, "d": 3}})
    assert client.get(index=index, id="1", _source_includes="b.c")["_source"] == {"b": {"c": 2}}
    assert client.get(index=index, id="1", _source_excludes="b")["_source"] == {"a": 1}
    assert "_source" not in client.get(index=index, id="1", _source="false")


def test_auto_id(client, index):
    create(client, index)
    r = client.index(index=index, body={"x": 1}, refresh=True)
    assert r["result"] == "created"
    assert re.fullmatch(r"[A-Za-z0-9_-]{20}", r["_id"]), r["_id"]
    assert client.get(index=index, id=r["_id"])["_source"] == {"x": 1}


def test_create_conflict(client, index):
    create(client, index)
    r = client.create(index=index, id="1", body={"v": 1})
    assert r["result"] == "created"
    with pytest.raises(ConflictError) as e:
        client.create(index=index, id="1", body={"v": 2})
    assert e.value.status_code == 409
    assert e.value.error == "version_conflict_engine_exception"
    assert "document already exists" in e.value.info["error"]["reason"]
    assert client.get(index=index, id="1")["_source"] == {"v": 1}


def test_optimistic_concurrency(client, index):
    create(client, index)
    r = client.index(index=index, id="1", body={"v": 1})
    seq, term = r["_seq_no"], r["_primary_term"]
    client.index(index=index, id="1", body={"v": 2}, if_seq_no=seq, if_primary_term=term)
    with pytest.raises(ConflictError) as e:
        client.index(index=index, id="1", body={"v": 3}, if_seq_no=seq, if_primary_term=term)
    assert e.value.error == "version_conflict_engine_exception"
    assert client.get(index=index, id="1")["_source"] == {"v": 2}


def test_external_versions(client, index):
    create(client, index)
    r = client.index(index=index, id="1", body={"v": 1}, version=5, version_type="external")
    assert r["_version"] == 5
    with pytest.raises(ConflictError):
        client.index(index=index, id="1", body={"v": 2}, version=3, version_type="external")
    assert client.get(index=index, id="1")["_version"] == 5


def test_update_missing_and_upsert(client, index):
    create(client, index)
    with pytest.raises(NotFoundError) as e:
        client.update(index=index, id="nope", body={"doc": {"a": 1}})
    assert e.value.error == "document_missing_exception"
    r = client.update(index=index, id="u1", body={"doc": {"a": 1}, "doc_as_upsert": True})
    assert (r["result"], r["_version"]) == ("created", 1)
    r = client.update(index=index, id="u2", body={"doc": {"a": 1}, "upsert": {"a": 0}})
    assert r["result"] == "created"
    assert client.get(index=index, id="u2")["_source"] == {"a": 0}


def test_auto_create_index_with_dynamic_mapping(client, index):
    r = client.index(index=index, id="1", body={
        "s": "some text", "i": 7, "f": 1.5, "b": True, "d": "2024-03-01T10:00:00Z",
        "o": {"k": "v"}}, refresh=True)
    assert r["result"] == "created"
    assert client.indices.exists(index=index)
    props = client.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    assert props["s"] == {"type": "text",
                          "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}
    assert props["i"] == {"type": "long"}
    assert props["f"] == {"type": "float"}
    assert props["b"] == {"type": "boolean"}
    assert props["d"] == {"type": "date"}
    assert props["o"] == {"properties": {"k": {"type": "text", "fields": {
        "keyword": {"type": "keyword", "ignore_above": 256}}}}}
    settings = client.indices.get_settings(index=index)[index]["settings"]["index"]
    assert (settings["number_of_shards"], settings["number_of_replicas"]) == ("1", "1")


def test_mget(client, index):
    create(client, index)
    load(client, index, {"1": {"a": 1}, "2": {"a": 2}})
    r = client.mget(index=index, body={"ids": ["1", "3", "2"]})
    assert [(d["_id"], d["found"]) for d in r["docs"]] == [("1", True), ("3", False), ("2", True)]
    assert r["docs"][0]["_source"] == {"a": 1}
    r = client.mget(body={"docs": [{"_index": index, "_id": "2"},
                                   {"_index": "no-such-index-mget", "_id": "1"}]})
    assert r["docs"][0]["_source"] == {"a": 2}
    assert r["docs"][1]["error"]["type"] == "index_not_found_exception"


def test_count(client, index):
    create(client, index, shards=3)
    load(client, index, {str(i): {"n": i, "even": i % 2 == 0} for i in range(25)})
    assert client.count(index=index)["count"] == 25
    r = client.count(index=index, body={"query": {"term": {"even": True}}})
    assert r["count"] == 13
    assert r["_shards"] == {"total": 3, "successful": 3, "skipped": 0, "failed": 0}
    assert client.count(index=index, q="n:3")["count"] == 1


# --- bulk helpers -------------------------------------------------------------------------------


def test_helpers_bulk(client, index):
    create(client, index, shards=2)
    actions = [{"_index": index, "_id": str(i), "_source": {"n": i}} for i in range(300)]
    assert helpers.bulk(client, actions, chunk_size=100, refresh=True) == (300, [])
    assert client.count(index=index)["count"] == 300
    assert client.get(index=index, id="299")["_source"] == {"n": 299}


def test_helpers_bulk_errors(client, index):
    create(client, index)
    helpers.bulk(client, [{"_index": index, "_id": "1", "_source": {"n": 1}}], refresh=True)
    dup = [{"_op_type": "create", "_index": index, "_id": "1", "_source": {"n": 2}},
           {"_op_type": "create", "_index": index, "_id": "2", "_source": {"n": 2}}]
    with pytest.raises(BulkIndexError) as e:
        helpers.bulk(client, dup)
    [err] = e.value.errors
    assert err["create"]["status"] == 409
    assert err["create"]["error"]["type"] == "version_conflict_engine_exception"
    ok, errors = helpers.bulk(client, [{"_op_type": "create", "_index": index, "_id": "1",
                                        "_source": {}}], raise_on_error=False)
    assert ok == 0 and errors[0]["create"]["_id"] == "1"


def test_bulk_raw(client, index):
    create(client, index)
    body = "\n".join([
        '{"index": {"_index": "%s", "_id": "1"}}' % index, '{"a": 1}',
        '{"create": {"_index": "%s", "_id": "2"}}' % index, '{"a": 2}',
        '{"update": {"_index": "%s", "_id": "1"}}' % index, '{"doc": {"b": 1}}',
        '{"delete": {"_index": "%s", "_id": "2"}}' % index,
        '{"delete": {"_index": "%s", "_id": "nope"}}' % index,
        '{"update": {"_index": "%s", "_id": "nope"}}' % index, '{"doc": {"b": 1}}',
    ]) + "\n"
    r = client.bulk(body=body, refresh="true")
    assert r["errors"] is True
    got = [(list(i)[0], i[list(i)[0]]["status"], i[list(i)[0]].get("result")) for i in r["items"]]
    assert got == [("index", 201, "created"), ("create", 201, "created"),
                   ("update", 200, "updated"), ("delete", 200, "deleted"),
                   ("delete", 404, "not_found"), ("update", 404, None)]
    assert r["items"][5]["update"]["error"]["type"] == "document_missing_exception"
    assert client.get(index=index, id="1")["_source"] == {"a": 1, "b": 1}


def test_streaming_bulk(client, index):
    create(client, index, shards=2)

    def actions():
        for i in range(200):
            yield {"_index": index, "_id": str(i), "_source": {"n": i}}
        for i in range(0, 200, 2):
            yield {"_op_type": "delete", "_index": index, "_id": str(i)}
        yield {"_op_type": "update", "_index": index, "_id": "1", "doc": {"u": True}}

    results = list(helpers.streaming_bulk(client, actions(), chunk_size=64, refresh="wait_for"))
    assert len(results) == 301
    assert all(ok for ok, _ in results)
    ops = [list(item)[0] for _, item in results]
    assert ops.count("index") == 200 and ops.count("delete") == 100 and ops.count("update") == 1
    client.indices.refresh(index=index)
    assert client.count(index=index)["count"] == 100
    assert client.get(index=index, id="1")["_source"] == {"n": 1, "u": True}


def test_parallel_bulk(client, index):
    create(client, index, shards=3)
    actions = ({"_index": index, "_id": str(i), "_source": {"n": i, "t": f"doc {i}"}}
               for i in range(1000))
    results = list(helpers.parallel_bulk(client, actions, thread_count=2, chunk_size=100))
    assert len(results) == 1000 and all(ok for ok, _ in results)
    client.indices.refresh(index=index)
    assert client.count(index=index)["count"] == 1000


def test_scan(client, index):
    create(client, index, shards=3)
    load(client, index, {str(i): {"n": i} for i in range(1234)})
    seen = [h["_id"] for h in helpers.scan(client, index=index, size=100, scroll="1m")]
    assert len(seen) == 1234 and set(seen) == {str(i) for i in range(1234)}
    ordered = [h["_source"]["n"] for h in helpers.scan(
        client, index=index, size=250, preserve_order=True,
        query={"query": {"range": {"n": {"gte": 1000}}}, "sort": [{"n": "desc"}]})]
    assert ordered == list(range(1233, 999, -1))


def test_reindex_helper(client, index):
    create(client, index, shards=2)
    dst = index + "-dst"
    create(client, dst, shards=1)
    load(client, index, {str(i): {"n": i, "odd": i % 2 == 1} for i in range(150)})
    ok, errors = helpers.reindex(client, index, dst, query={"query": {"term": {"odd": True}}},
                                 chunk_size=40)
    assert (ok, errors) == (75, 0)  # stats_only: the number of errors
    client.indices.refresh(index=dst)
    assert client.count(index=dst)["count"] == 75
    assert client.get(index=dst, id="149")["_source"] == {"n": 149, "odd": True}


# --- search -------------------------------------------------------------------------------------

DOCS = {
    "1": {"title": "quick brown fox", "tag": "animal", "price": 10, "day": "2024-01-01"},
    "2": {"title": "lazy brown dog", "tag": "animal", "price": 20, "day": "2024-01-01"},
    "3": {"title": "brown paper bag", "tag": "thing", "price": 5, "day": "2024-01-02"},
    "4": {"title": "quick fix", "tag": "idea", "price": 30, "day": "2024-01-04"},
    "5": {"title": "red fox", "tag": "animal", "price": 15, "day": "2024-01-04"},
}
SEARCH_MAPPINGS = {"properties": {"title": {"type": "text"}, "tag": {"type": "keyword"},
                                  "price": {"type": "long"}, "day": {"type": "date"}}}


@pytest.fixture
def docs_index(client, index):
    create(client, index, shards=3, mappings=SEARCH_MAPPINGS)
    load(client, index, DOCS)
    return index


def test_search_basics(client, docs_index):
    r = client.search(index=docs_index, body={"query": {"match": {"title": "brown"}}})
    assert r["timed_out"] is False
    assert r["_shards"] == {"total": 3, "successful": 3, "skipped": 0, "failed": 0}
    assert r["hits"]["total"] == {"value": 3, "relation": "eq"}
    assert sorted(ids(r)) == ["1", "2", "3"]
    scores = [h["_score"] for h in r["hits"]["hits"]]
    assert scores == sorted(scores, reverse=True) and r["hits"]["max_score"] == scores[0]
    assert all(h["_index"] == docs_index for h in r["hits"]["hits"])

    r = client.search(index=docs_index, body={
        "query": {"match_all": {}}, "sort": [{"price": "asc"}], "from": 1, "size": 2,
        "_source": ["title"]})
    assert ids(r) == ["1", "5"]
    assert r["hits"]["hits"][0]["_source"] == {"title": "quick brown fox"}
    assert r["hits"]["hits"][0]["sort"] == [10]
    assert r["hits"]["hits"][0]["_score"] is None


def test_search_after(client, docs_index):
    body = {"size": 2, "sort": [{"price": "desc"}]}
    r1 = client.search(index=docs_index, body=body)
    r2 = client.search(index=docs_index, body={**body,
                                               "search_after": r1["hits"]["hits"][-1]["sort"]})
    assert ids(r1) + ids(r2) == ["4", "2", "5", "1"]


def test_uri_search_and_total_hits(client, docs_index):
    assert total(client.search(index=docs_index, q="tag:animal")) == 3
    r = client.search(index=docs_index, params={"rest_total_hits_as_int": "true"})
    assert r["hits"]["total"] == 5
    r = client.search(index=docs_index, body={"track_total_hits": False})
    assert "total" not in r["hits"]


def test_aggregations(client, docs_index):
    r = client.search(index=docs_index, body={"size": 0, "aggs": {
        "tags": {"terms": {"field": "tag"}, "aggs": {"avg_price": {"avg": {"field": "price"}}}},
        "per_day": {"date_histogram": {"field": "day", "calendar_interval": "day"}},
        "avg": {"avg": {"field": "price"}}, "max": {"max": {"field": "price"}},
        "min": {"min": {"field": "price"}}, "sum": {"sum": {"field": "price"}},
        "stats": {"stats": {"field": "price"}},
        "cheap": {"filter": {"range": {"price": {"lt": 12}}}},
        "prices": {"range": {"field": "price", "ranges": [{"to": 15}, {"from": 15}]}},
    }})
    assert r["hits"]["hits"] == [] and total(r) == 5
    a = r["aggregations"]
    assert a["tags"]["doc_count_error_upper_bound"] == 0
    assert a["tags"]["sum_other_doc_count"] == 0
    assert [(b["key"], b["doc_count"], b["avg_price"]["value"]) for b in a["tags"]["buckets"]] \
        == [("animal", 3, 15.0), ("idea", 1, 30.0), ("thing", 1, 5.0)]
    day = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    expected_days = [(int((day + datetime.timedelta(days=d)).timestamp() * 1000),
                      f"2024-01-0{d + 1}T00:00:00.000Z", c) for d, c in enumerate([2, 1, 0, 2])]
    assert [(b["key"], b["key_as_string"], b["doc_count"]) for b in a["per_day"]["buckets"]] \
        == expected_days
    assert (a["avg"]["value"], a["max"]["value"], a["min"]["value"], a["sum"]["value"]) == (
        16.0, 30.0, 5.0, 80.0)
    assert a["stats"] == {"count": 5, "min": 5.0, "max": 30.0, "avg": 16.0, "sum": 80.0}
    assert a["cheap"]["doc_count"] == 2
    assert [(b["key"], b["doc_count"]) for b in a["prices"]["buckets"]] == [
        ("*-15.0", 2), ("15.0-*", 3)]


def test_highlight(client, docs_index):
    r = client.search(index=docs_index, body={"query": {"match": {"title": "fox"}},
                                              "highlight": {"fields": {"title": {}}}})
    hl = {h["_id"]: h["highlight"]["title"] for h in r["hits"]["hits"]}
    assert hl == {"1": ["quick brown <em>fox</em>"], "5": ["red <em>fox</em>"]}


def test_msearch(client, docs_index):
    r = client.msearch(body=[{"index": docs_index}, {"query": {"term": {"tag": "animal"}}},
                             {"index": "no-such-index-msearch"}, {"query": {"match_all": {}}}])
    first, second = r["responses"]
    assert total(first) == 3 and first["status"] == 200
    assert second["error"]["type"] == "index_not_found_exception" and second["status"] == 404


def test_search_errors(client, docs_index):
    with pytest.raises(RequestError) as e:
        client.search(index=docs_index, body={"query": {"no_such_query": {}}})
    assert e.value.error == "parsing_exception"
    assert "unknown query [no_such_query]" in e.value.info["error"]["reason"]
    with pytest.raises(RequestError) as e:
        client.search(index=docs_index, body={"from": 9995, "size": 10})
    assert e.value.error == "search_phase_execution_exception"
    assert e.value.info["error"]["root_cause"][0]["type"] == "illegal_argument_exception"
    assert "Result window is too large" in e.value.info["error"]["root_cause"][0]["reason"]
    # from + size exactly 10000 is allowed.
    assert client.search(index=docs_index, body={"from": 9990, "size": 10})["hits"]["hits"] == []


def test_search_several_indices(client, docs_index):
    other = docs_index + "-other"
    create(client, other)
    load(client, other, {"x": {"title": "brown bear", "tag": "animal"}})
    r = client.search(index=f"{docs_index},{other}", body={"query": {"term": {"tag": "animal"}}})
    assert total(r) == 4
    r = client.search(index=docs_index + "*", body={"query": {"match": {"title": "bear"}}})
    assert [(h["_index"], h["_id"]) for h in r["hits"]["hits"]] == [(other, "x")]


def test_scroll(client, docs_index):
    r = client.search(index=docs_index, scroll="1m", size=2, body={"sort": ["_doc"]})
    seen = ids(r)
    scroll_id = r["_scroll_id"]
    assert total(r) == 5
    while True:
        r = client.scroll(scroll_id=scroll_id, scroll="1m")
        if not r["hits"]["hits"]:
            break
        seen += ids(r)
        scroll_id = r["_scroll_id"]
    assert sorted(seen) == sorted(DOCS)
    cleared = client.clear_scroll(scroll_id=scroll_id)
    assert cleared == {"succeeded": True, "num_freed": 3}  # one context per shard
    with pytest.raises(NotFoundError):
        client.scroll(scroll_id=scroll_id, scroll="1m")


def test_point_in_time(client, docs_index):
    pit = client.create_pit(index=docs_index, params={"keep_alive": "1m"})
    assert pit["_shards"]["total"] == 3 and pit["_shards"]["failed"] == 0
    assert isinstance(pit["creation_time"], int)
    pit_id = pit["pit_id"]
    # Writes after the PIT are not seen through it.
    load(client, docs_index, {"6": {"title": "new doc", "tag": "animal", "price": 1}})
    assert client.count(index=docs_index)["count"] == 6
    r = client.search(body={"pit": {"id": pit_id, "keep_alive": "1m"}, "size": 10,
                            "sort": [{"price": "asc"}]})
    assert total(r) == 5 and "6" not in ids(r)
    assert r["pit_id"]
    listed = client.get_all_pits()
    assert pit_id in [p["pit_id"] for p in listed["pits"]]
    d = client.delete_pit(body={"pit_id": [pit_id]})
    assert d == {"pits": [{"pit_id": pit_id, "successful": True}]}
    with pytest.raises(NotFoundError):
        client.search(body={"pit": {"id": pit_id}})


# --- cat ----------------------------------------------------------------------------------------


def test_cat_indices(client, docs_index):
    [row] = client.cat.indices(index=docs_index, format="json")
    assert (row["health"], row["status"], row["index"]) == ("green", "open", docs_index)
    assert (row["pri"], row["rep"], row["docs.count"], row["docs.deleted"]) == ("3", "0", "5", "0")
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", row["uuid"])
    text = client.cat.indices(index=docs_index, v=True, h="index,docs.count")
    assert text.split("\n")[0].split() == ["index", "docs.count"]
    assert text.split("\n")[1].split() == [docs_index, "5"]


def test_cat_health_nodes_shards_count(client, docs_index, node):
    [h] = client.cat.health(format="json")
    assert h["cluster"] == node.cluster_name and h["node.total"] == "1"
    assert h["status"] in ("green", "yellow")
    [n] = client.cat.nodes(format="json")
    assert n["ip"] == "127.0.0.1" and n["name"] == node.node_id
    assert n["cluster_manager"] == "*"
    shards = client.cat.shards(index=docs_index, format="json")
    assert sorted((s["shard"], s["prirep"], s["state"]) for s in shards) == [
        ("0", "p", "STARTED"), ("1", "p", "STARTED"), ("2", "p", "STARTED")]
    assert sum(int(s["docs"]) for s in shards) == 5
    [c] = client.cat.count(index=docs_index, format="json")
    assert c["count"] == "5"


# --- more of the API surface --------------------------------------------------------------------


def test_delete_and_update_by_query(client, index):
    create(client, index, shards=2)
    load(client, index, {str(i): {"n": i, "tag": "even" if i % 2 == 0 else "odd"}
                         for i in range(20)})
    r = client.update_by_query(index=index, body={"query": {"term": {"tag": "odd"}}},
                               refresh=True, conflicts="proceed")
    assert (r["total"], r["updated"], r["failures"]) == (10, 10, [])
    assert client.get(index=index, id="1")["_version"] == 2
    r = client.delete_by_query(index=index, body={"query": {"range": {"n": {"lt": 5}}}},
                               refresh=True)
    assert (r["total"], r["deleted"], r["failures"]) == (5, 5, [])
    assert client.count(index=index)["count"] == 15


def test_search_hit_options(client, docs_index):
    r = client.search(index=docs_index, body={
        "query": {"ids": {"values": ["1"]}}, "version": True, "seq_no_primary_term": True,
        "docvalue_fields": ["price"], "_source": False})
    [hit] = r["hits"]["hits"]
    assert hit["_version"] == 1 and "_seq_no" in hit and hit["_primary_term"] == 1
    assert hit["fields"] == {"price": [10]}
    assert "_source" not in hit
    r = client.search(index=docs_index, body={"query": {"match": {"title": "fox"}},
                                              "explain": True})
    assert all(h["_explanation"]["value"] == pytest.approx(h["_score"])
               for h in r["hits"]["hits"])
    r = client.search(index=docs_index, body={"terminate_after": 1, "size": 0})
    assert r["terminated_early"] is True


def test_routing(client, index):
    create(client, index, shards=3)
    client.index(index=index, id="1", body={"a": 1}, routing="user7", refresh=True)
    assert client.get(index=index, id="1", routing="user7")["found"] is True
    r = client.search(index=index, routing="user7", body={"query": {"match_all": {}}})
    assert ids(r) == ["1"] and r["_shards"]["total"] == 1


def test_index_stats(client, index):
    create(client, index, shards=2)
    load(client, index, {str(i): {"n": i} for i in range(7)})
    client.delete(index=index, id="0", refresh=True)
    s = client.indices.stats(index=index)
    prim = s["indices"][index]["primaries"]
    assert prim["docs"]["count"] == 6
    assert prim["indexing"]["index_total"] == 7 and prim["indexing"]["delete_total"] == 1
    assert prim["store"]["size_in_bytes"] > 0
    assert s["_all"]["primaries"]["docs"]["count"] == 6


def test_index_stats_search_counters(client, index):
    create(client, index, shards=2)
    load(client, index, {"1": {"n": 1}})
    client.search(index=index)
    search = client.indices.stats(index=index)["indices"][index]["total"]["search"]
    assert search["query_total"] == 2  # one query phase per shard
    assert search["fetch_total"] >= 1


def test_field_caps(client, docs_index):
    r = client.field_caps(index=docs_index, fields="tag,title,price")
    assert r["indices"] == [docs_index]
    tag = r["fields"]["tag"]["keyword"]
    assert (tag["type"], tag["searchable"], tag["aggregatable"]) == ("keyword", True, True)
    assert r["fields"]["title"]["text"]["aggregatable"] is False
    assert r["fields"]["price"]["long"]["searchable"] is True


def test_aliases(client, index):
    create(client, index)
    load(client, index, {"1": {"tag": "a"}, "2": {"tag": "b"}})
    assert client.indices.put_alias(index=index, name=index + "-all") == {"acknowledged": True}
    client.indices.update_aliases(body={"actions": [{"add": {
        "index": index, "alias": index + "-a", "filter": {"term": {"tag": "a"}},
        "is_write_index": True}}]})
    assert client.count(index=index + "-all")["count"] == 2
    assert client.count(index=index + "-a")["count"] == 1
    assert set(client.indices.get_alias(index=index)[index]["aliases"]) == {
        index + "-all", index + "-a"}
    assert client.indices.get_alias(name=index + "-a")[index]["aliases"][index + "-a"] == {
        "filter": {"term": {"tag": "a"}}, "is_write_index": True}
    client.index(index=index + "-a", id="3", body={"tag": "c"}, refresh=True)
    assert client.get(index=index, id="3")["found"] is True
    assert client.indices.exists_alias(name=index + "-a") is True
    assert client.indices.exists_alias(name=index + "-nope") is False
    assert client.indices.delete_alias(index=index, name=index + "-all") == {"acknowledged": True}
    assert client.indices.exists_alias(name=index + "-all") is False
    with pytest.raises(NotFoundError) as e:
        client.indices.delete_alias(index=index, name=index + "-all")
    assert e.value.error == "aliases_not_found_exception"


def test_search_and_bulk_through_aliases(client, index):
    other = index + "-2"
    create(client, index, shards=2)
    create(client, other)
    client.indices.update_aliases(body={"actions": [
        {"add": {"index": index, "alias": index + "-w", "is_write_index": True}},
        {"add": {"index": other, "alias": index + "-w"}},
        {"add": {"indices": [index, other], "alias": index + "-red",
                 "filter": {"term": {"color": "red"}}}}]})
    actions = [{"_index": index + "-w", "_id": str(i), "_source": {
        "color": "red" if i % 2 == 0 else "blue", "n": i}} for i in range(10)]
    ok, errors = helpers.bulk(client, actions, refresh=True)
    assert (ok, errors) == (10, [])
    assert client.count(index=index)["count"] == 10
    assert client.count(index=other)["count"] == 0
    r = client.search(index=index + "-red", body={"query": {"range": {"n": {"gte": 4}}},
                                                   "size": 10})
    assert total(r) == 3
    assert {h["_source"]["color"] for h in r["hits"]["hits"]} == {"red"}
    assert {h["_index"] for h in r["hits"]["hits"]} == {index}
    # helpers.scan (scroll) keeps the filter on every page.
    scanned = list(helpers.scan(client, index=index + "-red", size=2))
    assert len(scanned) == 5
    with pytest.raises(RequestError) as e:
        client.get(index=index + "-w", id="1")
    assert e.value.error == "illegal_argument_exception"


def test_index_template(client, index):
    client.indices.put_index_template(name=index, body={
        "index_patterns": [index + "-*"], "template": {
            "settings": {"number_of_shards": 2, "number_of_replicas": 0},
            "mappings": {"properties": {"k": {"type": "keyword"}}}}})
    client.index(index=index + "-1", id="1", body={"k": "v"})
    got = client.indices.get(index=index + "-1")[index + "-1"]
    assert got["settings"]["index"]["number_of_shards"] == "2"
    assert got["mappings"]["properties"]["k"] == {"type": "keyword"}


def test_close_and_open(client, index):
    create(client, index)
    load(client, index, {"1": {"a": 1}})
    assert client.indices.close(index=index) == {
        "acknowledged": True, "shards_acknowledged": True, "indices": {index: {"closed": True}}}
    with pytest.raises(RequestError) as e:
        client.search(index=index)
    assert e.value.error == "index_closed_exception"
    with pytest.raises(RequestError) as e:
        client.index(index=index, id="2", body={"a": 2})
    assert e.value.error == "index_closed_exception"
    assert client.cluster.state(metric="metadata")["metadata"]["indices"][index]["state"] == "close"
    assert index in client.indices.get(index=index)
    assert client.indices.open(index=index) == {"acknowledged": True, "shards_acknowledged": True}
    assert client.count(index=index)["count"] == 1


def test_flush(client, index):
    create(client, index, shards=2)
    load(client, index, {"1": {"a": 1}})
    r = client.indices.flush(index=index)
    assert r["_shards"] == {"total": 2, "successful": 2, "failed": 0}


def test_cat_text_options(client, docs_index):
    text = client.cat.indices(index=docs_index, h="index,pri,docs.count", v=True, s="index")
    lines = text.rstrip("\n").split("\n")
    assert lines[0].split() == ["index", "pri", "docs.count"]
    assert lines[1].split() == [docs_index, "3", "5"]
    helptext = client.cat.indices(help=True)
    assert re.search(r"^docs\.count\s", helptext, re.M)
    rows = client.cat.shards(index=docs_index, format="json", bytes="b")
    assert all(re.fullmatch(r"\d+", r["store"]) for r in rows)


# --- HTTP behaviour a client relies on ----------------------------------------------------------


def test_http_compression_through_the_client(node, index):
    # http_compress=True: gzip request bodies and Accept-Encoding: gzip, as the client sends them.
    from opensearchpy import OpenSearch
    c = OpenSearch(hosts=[node.url], http_compress=True, max_retries=0)
    try:
        create(c, index)
        ok, errors = helpers.bulk(c, ({"_index": index, "_id": str(i), "_source": {"t": "x" * 200}}
                                      for i in range(50)), refresh=True)
        assert (ok, errors) == (50, [])
        assert total(c.search(index=index, size=50)) == 50
    finally:
        c.close()


def test_http_headers_and_pretty(node):
    import gzip

    import requests
    r = requests.get(node.url + "/")
    assert r.headers["Content-Type"].startswith("application/json")
    h = requests.head(node.url + "/")
    assert h.status_code == 200 and h.content == b""
    p = requests.get(node.url + "/?pretty")
    assert p.text.count("\n") > 5 and p.json()["version"]["number"] == "2.19.0"
    g = requests.get(node.url + "/_cluster/health", headers={"Accept-Encoding": "gzip"},
                     stream=True)
    raw = g.raw.read()
    body = gzip.decompress(raw) if g.headers.get("Content-Encoding") == "gzip" else raw
    assert b'"status"' in body


# --- durability (a node of its own: these kill it) ----------------------------------------------


def test_acknowledged_writes_survive_sigkill_during_writes(tmp_path):
    """Writers index documents one by one while the node is killed with SIGKILL: every write
    that was acknowledged is there after the restart (the in-flight ones may or may not be)."""
    import threading

    import qdnode
    from opensearchpy import OpenSearch
    from opensearchpy.exceptions import ConnectionError as ClientConnectionError

    n = qdnode.Node(workdir=str(tmp_path))
    try:
        n.start()
        c = OpenSearch(hosts=[n.url], max_retries=0, timeout=30)
        create(c, "dur", shards=3)
        uuid = c.info()["cluster_uuid"]
        helpers.bulk(c, ({"_index": "dur", "_id": f"b{i}", "_source": {"i": i}}
                         for i in range(3000)))  # no refresh, no flush
        acked, stop, unexpected = [[], []], threading.Event(), []

        def writer(w):
            i = 0
            while not stop.is_set():
                try:
                    c.index(index="dur", id=f"w{w}-{i}", body={"i": i})
                except (ClientConnectionError, ConnectionError):
                    return  # the node is gone
                except Exception as e:  # anything else is a failure of the test
                    unexpected.append(repr(e))
                    return
                acked[w].append(f"w{w}-{i}")
                i += 1

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(2)]
        for t in threads:
            t.start()
        while sum(map(len, acked)) < 200:
            threading.Event().wait(0.01)
        n.stop(kill=True)
        stop.set()
        for t in threads:
            t.join()
        c.close()
        assert unexpected == []

        n.start()
        c = OpenSearch(hosts=[n.url], max_retries=0, timeout=30)
        c.cluster.health(index="dur", wait_for_status="green", timeout="30s", request_timeout=60)
        assert c.info()["cluster_uuid"] == uuid, "the cluster keeps its identity across a crash"
        written = [i for w in acked for i in w]
        got = c.mget(index="dur", body={"ids": written}, _source=False)["docs"]
        missing = [d["_id"] for d in got if not d["found"]]
        assert missing == [], f"{len(missing)} acknowledged writes lost, e.g. {missing[:5]}"
        count = c.count(index="dur")["count"]
        assert 3000 + len(written) <= count <= 3000 + len(written) + 2  # + in-flight ones
        c.close()
    finally:
        n.close(keep=True)  # tmp_path is pytest's; it cleans up old runs itself


# --- search details -----------------------------------------------------------------------------


def test_search_params_and_totals(client, docs_index):
    r = client.search(index=docs_index, q="fox", sort="price:desc", size=1,
                      _source_includes="title")
    assert total(r) == 2 and ids(r) == ["5"]
    assert r["hits"]["hits"][0]["_source"] == {"title": "red fox"}
    r = client.search(index=docs_index, body={"track_total_hits": 2})
    assert r["hits"]["total"] == {"value": 2, "relation": "gte"}
    r = client.search(index=docs_index, body={"query": {"match_all": {}}, "size": 1,
                                              "sort": [{"tag": "asc"}, {"price": "desc"}]})
    assert ids(r) == ["2"] and r["hits"]["hits"][0]["sort"] == ["animal", 20]
    r = client.search(index=docs_index, body={"size": 2, "sort": [{"tag": "asc"}, {"price": "desc"}],
                                              "search_after": ["animal", 20]})
    assert ids(r) == ["5", "1"]
    # GET /_search without an index reaches this one too (other tests' indices hold the same
    # documents: look for one only this test wrote).
    load(client, docs_index, {"own": {"tag": docs_index}})
    r = client.search(body={"query": {"term": {"tag": docs_index}}})
    assert [(h["_index"], h["_id"]) for h in r["hits"]["hits"]] == [(docs_index, "own")]


def test_more_aggregations(client, docs_index):
    r = client.search(index=docs_index, body={"size": 0, "aggs": {
        "hist": {"histogram": {"field": "price", "interval": 10}},
        "card": {"cardinality": {"field": "tag"}},
        "vc": {"value_count": {"field": "price"}},
        "by_key": {"terms": {"field": "tag", "order": {"_key": "desc"}, "size": 2}},
        "top": {"terms": {"field": "tag", "size": 1},
                "aggs": {"best": {"top_hits": {"size": 1, "sort": [{"price": "desc"}]}}}},
        "missing_tag": {"missing": {"field": "nope"}},
    }})
    a = r["aggregations"]
    assert [(b["key"], b["doc_count"]) for b in a["hist"]["buckets"]] == [
        (0.0, 1), (10.0, 2), (20.0, 1), (30.0, 1)]
    assert a["card"]["value"] == 3 and a["vc"]["value"] == 5
    assert [b["key"] for b in a["by_key"]["buckets"]] == ["thing", "idea"]
    assert a["by_key"]["sum_other_doc_count"] == 3
    [top] = a["top"]["buckets"]
    best = top["best"]["hits"]["hits"][0]
    assert (top["key"], best["_id"], best["_source"]["title"]) == ("animal", "2", "lazy brown dog")
    assert a["missing_tag"]["doc_count"] == 5


def test_top_hits_source_filtering(client, docs_index):
    r = client.search(index=docs_index, body={"size": 0, "aggs": {"top": {"top_hits": {
        "size": 1, "sort": [{"price": "desc"}], "_source": ["title"]}}}})
    assert r["aggregations"]["top"]["hits"]["hits"][0]["_source"] == {"title": "quick fix"}


def test_update_details(client, index):
    create(client, index)
    client.index(index=index, id="1", body={"a": 1, "b": {"c": 1}})
    r = client.update(index=index, id="1", body={"doc": {"b": {"d": 2}}}, _source="true",
                      retry_on_conflict=3)
    assert r["result"] == "updated"
    assert r["get"]["_source"] == {"a": 1, "b": {"c": 1, "d": 2}}  # objects merge deeply
    r = client.update(index=index, id="1", body={"doc": {"a": 2}, "detect_noop": False})
    assert r["result"] == "updated"


def test_mget_source_filtering_and_unicode(client, index):
    create(client, index)
    client.index(index=index, id="ü-1", body={"名前": "値", "n": 1, "x": {"y": 2}},
                 refresh="wait_for")
    r = client.mget(index=index, body={"docs": [{"_id": "ü-1", "_source": ["x"]}]})
    assert r["docs"][0]["_source"] == {"x": {"y": 2}}
    r = client.search(index=index, body={"query": {"term": {"名前.keyword": "値"}}})
    assert ids(r) == ["ü-1"]
