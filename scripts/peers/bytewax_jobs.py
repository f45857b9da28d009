"""The two jobs of scripts/bench-peers.sh in Bytewax 0.21, as its docs write
a dataflow: the file's lines in, then

  tags:  words of text.split(" ") starting with "#", lowercased (the Spark
         job's rule, `--hashtags spark`), counted per tag;
  vader: VADER's compound score of each tweet (vaderSentiment 3.3.2), summed
         and counted per UTC day.

    bytewax_jobs.py tags|vader INPUT OUTPUT

Runs on one worker in this process (bytewax.testing.run_main) and writes
the final table to OUTPUT as JSON ({tag: count} or {day: [sum, count]}).
"""

import json
import sys
from datetime import datetime, timezone

import bytewax.operators as op
from bytewax.connectors.files import FileSource
from bytewax.dataflow import Dataflow
from bytewax.testing import TestingSink, run_main


def day_of(date):
    """The UTC day of the lab's dates: ISO text, epoch ms, or {"$date": ms}."""
    if isinstance(date, dict):
        date = date["$date"]
    if isinstance(date, (int, float)):
        return datetime.fromtimestamp(date / 1000, timezone.utc).date().isoformat()
    return datetime.fromisoformat(date.replace("Z", "+00:00")).astimezone(timezone.utc).date().isoformat()


def tags_of(line):
    return [w.lower() for w in json.loads(line)["tweet"].split(" ") if w.startswith("#")]


def main():
    job, path, output = sys.argv[1:4]
    flow = Dataflow(job)
    lines = op.input("read", flow, FileSource(path))
    got = []
    if job == "tags":
        tags = op.flat_map("tags", lines, tags_of)
        counts = op.count_final("count", tags, lambda tag: tag)
        op.output("out", counts, TestingSink(got))
    else:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        analyzer = SentimentIntensityAnalyzer()

        def score(line):
            record = json.loads(line)
            return day_of(record["date"]), analyzer.polarity_scores(record["tweet"])["compound"]

        scored = op.map("score", lines, score)
        days = op.fold_final("per_day", scored, lambda: [0.0, 0], lambda acc, s: [acc[0] + s, acc[1] + 1])
        op.output("out", days, TestingSink(got))
    run_main(flow)
    with open(output, "w") as f:
        json.dump(dict(got), f)


if __name__ == "__main__":
    main()
