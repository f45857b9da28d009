"""pgcli's completion against `stream --pg`, run by the integration test
`clients::` (tests/it/clients.rs):

    pgcli_complete.py PORT

Runs each of pgcli's completion refreshers (the catalog queries pgcli sends
when it connects: schemas, tables and their columns, views, types,
databases, functions) on its own connection, then asks the completer what
follows `SELECT * FROM ` and `SELECT  FROM tag_totals`. Prints one JSON
object; a refresher that fails has its error under "errors".
"""

import json
import sys
import traceback

from pgcli.completion_refresher import CompletionRefresher
from pgcli.pgcompleter import PGCompleter
from pgcli.pgexecute import PGExecute
from pgspecial.main import PGSpecial
from prompt_toolkit.document import Document


def main():
    executor = PGExecute("tweetstream", "tweetstream", None, "127.0.0.1", sys.argv[1])
    completer = PGCompleter(smart_completion=True, pgspecial=PGSpecial(), settings={})
    errors = {}
    for name, refresh in CompletionRefresher.refreshers.items():
        try:
            refresh(completer, executor)
        except Exception:
            errors[name] = traceback.format_exc().splitlines()[-1]

    def complete(text, cursor=None):
        document = Document(text, len(text) if cursor is None else cursor)
        return sorted({c.text for c in completer.get_completions(document, None)})

    report = {
        "errors": errors,
        "schemas": sorted(executor.schemata()),
        "tables": complete("SELECT * FROM "),
        "columns": complete("SELECT  FROM tag_totals", len("SELECT ")),
    }
    print(json.dumps(report))


main()
