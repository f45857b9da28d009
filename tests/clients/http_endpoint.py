"""pandas and prometheus_client against `stream --http`, run by the integration
test `clients::` (tests/it/clients.rs), which compares what they print with an
independent count of the fixture.

    http_endpoint.py HOST:PORT   (not http.py: that would hide the standard library's http)

pandas reads a table as records (`read_json`) and as CSV (`read_csv`);
/metrics is fetched as a scraper asking for the classic text format would,
as Prometheus does (OpenMetrics first), with no Accept header and with
`requests.get`'s `*/*` (both get the classic format, which every parser
reads), and parsed with prometheus_client's parser of each format. Prints one JSON object; a
step that fails has {"error": "..."} instead of its answer.
"""

import json
import sys
import traceback
import urllib.request

BASE = f"http://{sys.argv[1]}"


def tables():
    import pandas as pd

    days = pd.read_json(f"{BASE}/tables/sentiment_by_day?format=records")
    tags = pd.read_csv(f"{BASE}/tables/tag_totals?format=csv")
    return {
        # read_json reads a column named "date" as dates.
        "read_json": {str(r.date)[:10]: int(r.score_count) for r in days.itertuples()},
        "read_csv": {r.tag: int(r.count) for r in tags.itertuples()},
    }


def metrics(accept, parser):
    headers = {"Accept": accept} if accept else {}
    with urllib.request.urlopen(urllib.request.Request(f"{BASE}/metrics", headers=headers), timeout=10) as r:
        content_type, text = r.headers["Content-Type"], r.read().decode()
    families = {}
    for family in parser(text):
        families[family.name] = {
            "type": family.type,
            "samples": [[s.name, s.labels, s.value] for s in family.samples],
        }
    return {"content_type": content_type, "families": families}


def main():
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics
    from prometheus_client.parser import text_string_to_metric_families as classic

    steps = [
        ("tables", tables),
        ("classic", lambda: metrics("text/plain;version=0.0.4", classic)),
        (
            "prometheus",
            lambda: metrics(
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                "text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                openmetrics,
            ),
        ),
        ("no_accept", lambda: metrics(None, classic)),
        ("any", lambda: metrics("*/*", classic)),
    ]
    report = {}
    for name, step in steps:
        try:
            report[name] = step()
        except Exception:
            report[name] = {"error": traceback.format_exc()}
    print(json.dumps(report))


main()
