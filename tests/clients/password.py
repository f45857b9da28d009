"""psycopg against `stream --pg` with a password (the token), run by the
integration test `clients::` (tests/it/clients.rs).

    password.py PORT RIGHT WRONG

Logs in with the right password (and a query, and a cancel, on that
connection), with a wrong one and with none. Prints one JSON object.
"""

import json
import sys
import threading

import psycopg

PORT, RIGHT, WRONG = int(sys.argv[1]), sys.argv[2], sys.argv[3]


def connect(password):
    dsn = f"host=127.0.0.1 port={PORT} user=analyst dbname=tweetstream connect_timeout=10"
    if password is not None:
        dsn += f" password={password}"
    return psycopg.connect(dsn, autocommit=True)


report = {}
with connect(RIGHT) as conn:
    report["right"] = conn.execute("select count(*) from tag_totals").fetchone()[0]
    timer = threading.Timer(0.3, conn.cancel_safe)
    timer.start()
    try:
        conn.execute("select count(*) from generate_series(1, 100000000000)")
        report["cancel"] = "not cancelled"
    except psycopg.errors.QueryCanceled as e:
        report["cancel"] = e.sqlstate
for name, password in [("wrong", WRONG), ("none", None)]:
    try:
        connect(password).close()
        report[name] = "logged in"
    except psycopg.OperationalError as e:
        report[name] = str(e)
print(json.dumps(report))
