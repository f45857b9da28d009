"""The two jobs of scripts/bench-peers.sh in Pathway 0.33 (`--pathway`), in
its static mode: the file's lines as a table, then the same rules as
bytewax_jobs.py (the Spark job's hashtags counted per tag; VADER's compound
summed and counted per UTC day), written to OUTPUT as JSON.

    pathway_jobs.py tags|vader INPUT OUTPUT
"""

import csv
import json
import os
import sys
import tempfile

import pathway as pw

sys.path.insert(0, os.path.dirname(__file__))
from bytewax_jobs import day_of, tags_of  # noqa: E402  (the same rules, one place)


def main():
    job, path, output = sys.argv[1:4]
    lines = pw.io.plaintext.read(path, mode="static")
    if job == "tags":
        tags = lines.select(tag=pw.apply_with_type(tags_of, list[str], pw.this.data)).flatten(pw.this.tag)
        result = tags.groupby(pw.this.tag).reduce(pw.this.tag, count=pw.reducers.count())
    else:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        analyzer = SentimentIntensityAnalyzer()

        def day(line):
            return day_of(json.loads(line)["date"])

        def compound(line):
            return analyzer.polarity_scores(json.loads(line)["tweet"])["compound"]

        scored = lines.select(
            day=pw.apply_with_type(day, str, pw.this.data),
            score=pw.apply_with_type(compound, float, pw.this.data),
        )
        result = scored.groupby(pw.this.day).reduce(
            pw.this.day, sum=pw.reducers.sum(pw.this.score), count=pw.reducers.count()
        )
    out = os.path.join(tempfile.mkdtemp(), "out.csv")
    pw.io.csv.write(result, out)
    pw.run(monitoring_level=pw.MonitoringLevel.NONE)
    table = {}
    for row in csv.DictReader(open(out)):
        if job == "tags":
            table[row["tag"]] = int(row["count"])
        else:
            table[row["day"]] = [float(row["sum"]), int(row["count"])]
    with open(output, "w") as f:
        json.dump(table, f)


main()
