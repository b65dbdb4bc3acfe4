"""The tests' independent checker of a Milvus server: pymilvus 2.3.8, never Ferry's own client.

usage: milvus_check.py PORT JSON_REQUEST   (user root / Milvus when the server asks for them)
Requests (one JSON object; the answer is one JSON object on stdout):
  {"op": "collections", "db": "default"}
  {"op": "count", "collection": C}                     count(*) of a loaded collection
  {"op": "entities", "collection": C}                  num_entities (the server's statistics)
  {"op": "partitions", "collection": C}                {name: num_entities}
  {"op": "query", "collection": C, "expr": E, "fields": [..]}
  {"op": "search_by_pk", "collection": C, "pk_field": F, "vector_field": V, "pk": N, "metric": M}
  {"op": "delete", "collection": C, "expr": E}
  {"op": "create", "collection": C, "dim": D}          a small collection of its own
  {"op": "drop_all"}                                   drops every collection of every database
  {"op": "indexes", "collection": C}
  {"op": "load_state", "collection": C}
"""
import json
import sys

from pymilvus import (Collection, CollectionSchema, DataType, FieldSchema, connections, db,
                      utility)

port, request = sys.argv[1], json.loads(sys.argv[2])
connections.connect(host="127.0.0.1", port=port, user="root", password="Milvus",
                    db_name=request.get("db", "default"))
op = request["op"]
name = request.get("collection")
out = {}
if op == "collections":
    out = {"collections": sorted(utility.list_collections())}
elif op == "count":
    c = Collection(name)
    out = {"count": c.query(expr="", output_fields=["count(*)"])[0]["count(*)"]}
elif op == "entities":
    out = {"entities": Collection(name).num_entities}
elif op == "partitions":
    out = {p.name: p.num_entities for p in Collection(name).partitions}
elif op == "query":
    rows = Collection(name).query(expr=request["expr"], output_fields=request["fields"])
    out = {"rows": sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))}
elif op == "search_by_pk":
    c = Collection(name)
    row = c.query(expr=f'{request["pk_field"]} == {request["pk"]}',
                  output_fields=[request["vector_field"]])[0]
    hits = c.search([row[request["vector_field"]]], request["vector_field"],
                    {"metric_type": request["metric"], "params": {}}, limit=3)
    out = {"ids": [h.id for h in hits[0]]}
elif op == "delete":
    c = Collection(name)
    c.delete(request["expr"])
    c.flush()
    out = {"deleted": True}
elif op == "create":
    schema = CollectionSchema([
        FieldSchema("id", DataType.INT64, is_primary=True),
        FieldSchema("v", DataType.FLOAT_VECTOR, dim=request.get("dim", 4)),
    ])
    Collection(name, schema)
    out = {"created": name}
elif op == "drop_all":
    for database in db.list_database():
        db.using_database(database)
        for c in utility.list_collections():
            utility.drop_collection(c)
    out = {"dropped": True}
elif op == "indexes":
    out = {"indexes": [{"field": i.field_name, "name": i.index_name, "params": i.params}
                       for i in Collection(name).indexes]}
elif op == "load_state":
    out = {"state": str(utility.load_state(name))}
else:
    sys.exit(f"unknown op {op}")
print(json.dumps(out, default=str))
