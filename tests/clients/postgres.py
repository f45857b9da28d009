"""The Python PostgreSQL clients users reach for first, run against `stream --pg`
by the integration test `clients::` (tests/it/clients.rs), which compares what
they print with an independent count of the fixture.

    postgres.py PORT DAY    (DAY: a date of the fixture, YYYY-MM-DD)

Each client runs the same questions in its own default way: the five most used
tags counted at least twice (bound parameters), that day's tweet count (a date
parameter), in a transaction, and a CSV COPY; pandas also reads a whole table
by its name (SQLAlchemy's reflection). Prints one JSON object, one entry
per client; a client that fails has {"error": "..."} instead of its answers.
"""

import asyncio
import datetime
import io
import json
import sys
import threading
import time
import traceback

PORT = int(sys.argv[1])
DAY = datetime.date.fromisoformat(sys.argv[2])
DSN = f"host=127.0.0.1 port={PORT} user=tweetstream dbname=tweetstream connect_timeout=10"
TAGS = "select tag, count from tag_totals where count >= %s order by count desc, tag limit %s"
DAY_COUNT = "select date, score_count from sentiment_by_day where date = %s"
COPY = "COPY (select tag, count from tag_totals order by count desc, tag limit 3) TO STDOUT WITH (FORMAT csv, HEADER)"
LONG = "select count(*) from generate_series(1, 100000000000)"


# Settings PostgreSQL reports at startup that tools read (psql's prompt,
# SQLAlchemy's dialect, read-only detection).
STARTUP_PARAMETERS = [
    "server_version", "server_encoding", "client_encoding", "DateStyle", "TimeZone", "IntervalStyle",
    "integer_datetimes", "standard_conforming_strings", "is_superuser", "default_transaction_read_only",
]


def rows(rs):
    return [[str(v) if isinstance(v, datetime.date) else v for v in r] for r in rs]


def psycopg2_check():
    import psycopg2

    out = {}
    conn = psycopg2.connect(DSN)  # default: not autocommit, so a BEGIN comes first
    cur = conn.cursor()
    cur.execute(TAGS, (2, 5))
    out["tags"] = rows(cur.fetchall())
    cur.execute(DAY_COUNT, (DAY,))
    out["day"] = rows(cur.fetchall())
    out["status_in_transaction"] = conn.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_INTRANS
    conn.rollback()
    with conn:  # a transaction, committed at the end of the block
        with conn.cursor() as c:
            c.execute("select count(*) from tag_totals")
            out["tx_tag_count"] = c.fetchone()[0]
    buf = io.StringIO()
    cur = conn.cursor()
    cur.copy_expert(COPY, buf)
    out["copy"] = buf.getvalue()
    conn.close()
    return out


def psycopg_check():
    import psycopg

    out = {}
    with psycopg.connect(DSN) as conn:  # default mode: not autocommit
        out["tags"] = rows(conn.execute(TAGS, (2, 5)).fetchall())
        out["day"] = rows(conn.execute(DAY_COUNT, (DAY,)).fetchall())
        conn.rollback()
        with conn.transaction():
            out["tx_tag_count"] = conn.execute("select count(*) from tag_totals").fetchone()[0]
        with conn.cursor(name="tags") as cur:  # a server-side cursor
            cur.execute(TAGS, (2, 5))
            out["server_cursor"] = rows(cur.fetchmany(2) + cur.fetchall())
        with conn.cursor() as cur:
            with cur.copy(COPY) as copy:
                out["copy"] = b"".join(bytes(block) for block in copy).decode()
        conn.commit()
        # What the server said at startup (ParameterStatus) against SHOW.
        with conn.transaction():
            out["startup_parameters"] = {
                name: [conn.info.parameter_status(name), conn.execute(f"show {name}").fetchone()[0]]
                for name in STARTUP_PARAMETERS
            }
    out["cancel"] = cancel_check()
    return out


def psycopg_types_check():
    """Parameters and results typed as PostgreSQL types them: psycopg sends
    5 as an int2 and True as a bool; a cast names its column's type."""
    import psycopg

    out = {}
    with psycopg.connect(DSN, autocommit=True) as conn:
        cur = conn.execute("select %s + 1", (5,))
        out["plus_one"] = cur.fetchone()[0]
        out["plus_one_oid"] = cur.description[0].type_code
        out["bool"] = conn.execute("select %s", (True,)).fetchone()[0]
        cur = conn.execute("select %s::int, %s::smallint, %s::boolean", ("7", 8, "yes"))
        out["casts"] = list(cur.fetchone())
        out["cast_oids"] = [c.type_code for c in cur.description]
        with conn.cursor(binary=True) as cur:
            cur.execute("select %s::int, %s::int2, %s::bool, %s::float4", (1, 2, True, 1.5))
            out["binary"] = list(cur.fetchone())
        # A `$1::timestamptz` is an instant: the first batch's time (UTC),
        # sent as Tokyo's local time, and a second before it.
        from datetime import datetime, timedelta, timezone

        first = conn.execute("select min(batch_time) from batches").fetchone()[0]
        t0 = datetime.fromisoformat(first).replace(tzinfo=timezone.utc).astimezone(timezone(timedelta(hours=9)))
        since = "select count(*) from batches where batch_time <= %s::timestamptz"
        out["instant_at"] = conn.execute(since, (t0,)).fetchone()[0]
        out["instant_before"] = conn.execute(since, (t0 - timedelta(seconds=1),)).fetchone()[0]
    return out


def cancel_check():
    """A query that would run for minutes, cancelled from another thread."""
    import psycopg

    with psycopg.connect(DSN, autocommit=True) as conn:
        timer = threading.Timer(0.5, conn.cancel_safe)
        timer.start()
        started = time.monotonic()
        try:
            conn.execute(LONG)
            return {"error": "the long query was not cancelled"}
        except psycopg.errors.QueryCanceled as e:
            cancelled_after = time.monotonic() - started - 0.5
            answer = {"sqlstate": e.sqlstate, "message": str(e), "seconds_after_cancel": cancelled_after}
        finally:
            timer.cancel()
        # The connection goes on serving.
        answer["after"] = conn.execute("select 1").fetchone()[0]
        return answer


def pandas_check():
    import pandas as pd
    from sqlalchemy import create_engine, text

    out = {}
    for driver in ("psycopg", "psycopg2"):
        engine = create_engine(f"postgresql+{driver}://tweetstream@127.0.0.1:{PORT}/tweetstream")
        query = text("select tag, count from tag_totals where count >= :least order by count desc, tag limit 5")
        frame = pd.read_sql(query, engine, params={"least": 2})
        out[driver] = [[r.tag, int(r.count)] for r in frame.itertuples()]
        # A whole table, by its name: SQLAlchemy reflects it first.
        table = pd.read_sql_table("sentiment_by_day", engine)
        out[driver + "_table"] = {r.date: int(r.score_count) for r in table.itertuples()}
        engine.dispose()
    return out


async def asyncpg_main():
    import asyncpg

    out = {}
    pool = await asyncpg.create_pool(
        host="127.0.0.1", port=PORT, user="tweetstream", database="tweetstream", min_size=2, max_size=2
    )
    async with pool.acquire() as conn:
        tags = await conn.fetch(
            "select tag, count from tag_totals where count >= $1 order by count desc, tag limit $2", 2, 5
        )
        out["tags"] = [[r["tag"], r["count"]] for r in tags]
        day = await conn.fetch("select date, score_count from sentiment_by_day where date = $1::date", DAY)
        out["day"] = [[r["date"], r["score_count"]] for r in day]
        async with conn.transaction():
            out["tx_tag_count"] = await conn.fetchval("select count(*) from tag_totals")
        buf = io.BytesIO()
        await conn.copy_from_query(
            "select tag, count from tag_totals order by count desc, tag limit 3", output=buf, format="csv", header=True
        )
        out["copy"] = buf.getvalue().decode()
    # Every connection of the pool, each reset on release, answers again.
    counts = await asyncio.gather(*(pool.fetchval("select count(*) from tag_totals") for _ in range(4)))
    out["pool_counts"] = counts
    await pool.close()
    return out


def asyncpg_check():
    return asyncio.run(asyncpg_main())


def main():
    report = {}
    for name, check in [
        ("psycopg2", psycopg2_check),
        ("psycopg", psycopg_check),
        ("psycopg_types", psycopg_types_check),
        ("pandas", pandas_check),
        ("asyncpg", asyncpg_check),
    ]:
        try:
            report[name] = check()
        except Exception:
            report[name] = {"error": traceback.format_exc()}
    print(json.dumps(report, default=str))


main()
