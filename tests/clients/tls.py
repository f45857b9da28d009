"""Clients of `stream --tls-cert/--tls-key`, run by the integration test `tls::`
(tests/it/tls.rs), which compares what they print with an independent count
of the fixture.

    tls.py clients HTTP_PORT DASHBOARD_PORT PG_PORT CA
    tls.py served PORT CA EXPECTED_PEM

`clients`: HTTPS with the CA verified (by IP address and by the name
localhost) for a table and the dashboard, plain HTTP on the HTTPS port;
psycopg with sslmode=verify-full (and with direct TLS), a cancel over TLS (psycopg 3, libpq's
encrypted cancel) and psycopg2's cancel (sent in plain text, as libpq's
PQcancel does), and a plain-text connection (sslmode=disable), which must be
refused. `served`: waits (15 s at most) until the server at PORT presents the
certificate in EXPECTED_PEM. Prints one JSON object; a step that fails has
its error instead of its answer.
"""

import hashlib
import json
import socket
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request


def attempt(step):
    try:
        return step()
    except Exception as e:  # the test reads the error
        return {"error": f"{type(e).__name__}: {e}"}


def https(port, host, path, ca):
    context = ssl.create_default_context(cafile=ca)
    with urllib.request.urlopen(f"https://{host}:{port}{path}", context=context, timeout=10) as r:
        return r.status, r.read().decode()


def plain_http(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/tables", timeout=10) as r:
            return {"status": r.status}
    except urllib.error.HTTPError as e:
        return {"status": e.code, "body": e.read().decode()}


def postgres(port, ca):
    import psycopg

    dsn = f"host=127.0.0.1 port={port} user=analyst dbname=tweetstream sslmode=verify-full sslrootcert={ca}"
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        count = conn.execute("select count(*) from tag_totals").fetchone()[0]
        encrypted = conn.pgconn.ssl_in_use
        timer = threading.Timer(0.3, conn.cancel_safe)
        timer.start()
        try:
            conn.execute("select count(*) from generate_series(1, 100000000000)")
            cancel = "not cancelled"
        except psycopg.errors.QueryCanceled as e:
            cancel = e.sqlstate
    # PostgreSQL 17's direct TLS (no SSLRequest first; ALPN "postgresql").
    with psycopg.connect(dsn + " sslnegotiation=direct", autocommit=True, connect_timeout=10) as conn:
        direct = conn.execute("select count(*) from tag_totals").fetchone()[0]
    return {"count": count, "ssl_in_use": encrypted, "cancel": cancel, "direct": direct}


def psycopg2_cancel(port, ca):
    import psycopg2
    import psycopg2.errors

    conn = psycopg2.connect(
        host="127.0.0.1", port=port, user="analyst", dbname="tweetstream", sslmode="verify-full",
        sslrootcert=ca, connect_timeout=10,
    )
    conn.autocommit = True
    timer = threading.Timer(0.3, conn.cancel)
    timer.start()
    try:
        conn.cursor().execute("select count(*) from generate_series(1, 100000000000)")
        return "not cancelled"
    except psycopg2.errors.QueryCanceled as e:
        return e.pgcode
    finally:
        conn.close()


def plain_postgres(port):
    import psycopg

    psycopg.connect(f"host=127.0.0.1 port={port} user=analyst sslmode=disable connect_timeout=10").close()
    return "logged in"


def served(port, ca):
    """The SHA-256 of the certificate the server presents."""
    context = ssl.create_default_context(cafile=ca)
    with socket.create_connection(("127.0.0.1", int(port)), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            return hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest()


def main():
    if sys.argv[1] == "clients":
        http, dashboard, pg, ca = sys.argv[2:6]
        report = {
            "table": attempt(lambda: json.loads(https(http, "127.0.0.1", "/tables/tag_totals?limit=all", ca)[1])),
            "by_name": attempt(lambda: https(http, "localhost", "/health", ca)[0]),
            "dashboard": attempt(lambda: "<html" in https(dashboard, "127.0.0.1", "/", ca)[1]),
            "plain_http": attempt(lambda: plain_http(http)),
            "postgres": attempt(lambda: postgres(pg, ca)),
            "psycopg2_cancel": attempt(lambda: psycopg2_cancel(pg, ca)),
            "plain_postgres": attempt(lambda: plain_postgres(pg)),
        }
    else:
        port, ca, expected = sys.argv[2:5]
        with open(expected) as f:
            want = hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()
        deadline = time.monotonic() + 15
        seen = []
        while time.monotonic() < deadline:
            seen.append(attempt(lambda: served(port, ca)))
            if seen[-1] == want:
                break
            time.sleep(0.2)
        report = {"want": want, "first": seen[0], "last": seen[-1], "tries": len(seen)}
    print(json.dumps(report))


main()
