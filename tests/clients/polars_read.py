"""polars and connectorx against `stream --pg`, with their defaults, run by the
integration test `clients::` (tests/it/clients.rs), which compares what they
read with an independent count of the fixture.

    polars_read.py PORT

connectorx (under `polars.read_database_uri`) reads PostgreSQL with
`COPY (query) TO STDOUT WITH BINARY` by default. Prints one JSON object; a
step that fails has {"error": "..."} instead of its answer.
"""

import json
import sys
import traceback

URI = f"postgresql://tweetstream@127.0.0.1:{sys.argv[1]}/tweetstream"


def polars_tags():
    import polars as pl

    df = pl.read_database_uri("select tag, count from tag_totals", URI)
    return {
        "dtypes": [str(t) for t in df.dtypes],
        "counts": {tag: count for tag, count in df.iter_rows()},
    }


def connectorx_days():
    import connectorx as cx

    table = cx.read_sql(URI, "select date, score_count, score_avg from sentiment_by_day", return_type="arrow")
    rows = table.to_pylist()
    return {
        "types": [str(f.type) for f in table.schema],
        "counts": {r["date"]: r["score_count"] for r in rows},
    }


def main():
    report = {}
    for name, step in [("polars", polars_tags), ("connectorx", connectorx_days)]:
        try:
            report[name] = step()
        except Exception:
            report[name] = {"error": traceback.format_exc()}
    print(json.dumps(report))


main()
