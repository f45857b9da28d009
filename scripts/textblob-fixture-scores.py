#!/usr/bin/env python3
"""Python TextBlob's polarity of every tweet text of the fixtures, for the
end-to-end tests of `--sentiment textblob` (an independent computation: the
tests group these scores per day themselves and compare with the engine).

Made once, with the pinned package, and committed as
fixtures/textblob-polarity.jsonl (one {"text", "polarity"} per distinct text):

    python3 -m venv /tmp/tb && /tmp/tb/bin/pip install textblob==0.20.1
    /tmp/tb/bin/python scripts/textblob-fixture-scores.py > fixtures/textblob-polarity.jsonl

Run it again only if the fixtures change (`tweetstream fixtures`)."""
import importlib.metadata
import json
import sys

from textblob import TextBlob

assert importlib.metadata.version("textblob") == "0.20.1", importlib.metadata.version("textblob")


def texts():
    with open("fixtures/tweets.jsonl", "rb") as f:
        for line in f:
            try:
                v = json.loads(line.decode("utf-8"))
            except ValueError:
                continue  # the fixture's deliberately bad lines (not UTF-8, not JSON)
            if not isinstance(v, dict):
                continue
            # Every text the engine may score: the full text of an extended
            # tweet, else `text`, else `tweet`.
            extended = v.get("extended_tweet")
            full = extended.get("full_text") if isinstance(extended, dict) else None
            for text in (full, v.get("text"), v.get("tweet")):
                if isinstance(text, str):
                    yield text
    with open("fixtures/lab.jsonl", encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)["tweet"]


seen = set()
for text in texts():
    if text not in seen:
        seen.add(text)
        polarity = TextBlob(text).sentiment.polarity
        # json.dumps writes the shortest repr that reads back to the same double.
        sys.stdout.write(json.dumps({"text": text, "polarity": polarity}, ensure_ascii=False) + "\n")
