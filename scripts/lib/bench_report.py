"""Turns scripts/bench's records into docs/benchmarks.md's release tables and its JSON line.

    python3 scripts/lib/bench_report.py RECORDS DOC QUICK SECONDS

RECORDS holds one JSON object a line, {"table", "row", "metrics"}, as the benchmarks append
them. The release section of DOC (between the bench markers) is rewritten; the rest is kept.
Prints the goals each figure is held to, then the JSON object as the last line.
"""

import datetime
import json
import os
import platform
import sys

BEGIN, END = "<!-- scripts/bench: begin -->", "<!-- scripts/bench: end -->"

# (key, goal text, met?) — the goals of the performance issue.
GOALS = [
    ("graphql_overhead_product_ratio", ">= 0.5", lambda v: v >= 0.5),
    ("graphql_overhead_page_ratio", ">= 0.5", lambda v: v >= 0.5),
    ("race_settle_ms", "< 5000", lambda v: v < 5000),
    ("race_confirmed", "= 100", lambda v: v == 100),
    ("race_oversold", "= 0", lambda v: v == 0),
    ("spread_orders_per_s", ">= 300", lambda v: v >= 300),
    ("lag_p99_inprocess_ms", "< 50", lambda v: v < 50),
    ("lag_p99_nats_ms", "< 50", lambda v: v < 50),
    ("lag_p99_eventbridge_ms", "reported beside putevents_p50_ms", None),
    ("fanout_p99_ms", "< 100", lambda v: v < 100),
    ("create_vs_pgbench_ratio", ">= 0.5", lambda v: v >= 0.5),
    ("rss_mb_idle", "reported", None),
    ("rss_mb_1000_subscribers", "reported", None),
    ("search_p99_ms", "< 20", lambda v: v < 20),
    ("putevents_p50_ms", "the local server's floor", None),
]

# Column order per table (a record's row is a JSON object, whose keys come sorted).
COLUMNS = {
    "graphql": ["query", "GraphQL", "bare handler", "ratio", "load"],
    "saga": ["run", "all placed", "settled", "throughput", "outcome", "database"],
    "fanout": ["subscribers", "deliveries", "p50", "p99", "max", "rss"],
    "lag": ["bus", "n", "p50", "p99", "max", "local floor"],
    "writes": ["n", "createProduct through GraphQL", "pgbench, same statements", "ratio", "concurrency"],
    "search": ["products", "indexing", "1,000 searches with every facet"],
}

TITLES = {
    "graphql": "GraphQL overhead (in-memory catalog and profiles)",
    "saga": "Purchase saga",
    "fanout": "`orderStatus` fan-out",
    "lag": "Commit to visible in the catalog",
    "writes": "Writes",
    "search": "Search (Tantivy, 10,000 products)",
}


def main():
    records_path, doc_path, quick, seconds = sys.argv[1], sys.argv[2], sys.argv[3] == "1", int(sys.argv[4])
    records = [json.loads(line) for line in open(records_path) if line.strip()]
    metrics, tables = {}, {}
    for record in records:
        metrics.update(record.get("metrics") or {})
        tables.setdefault(record["table"], []).append(record["row"])

    lines = [
        BEGIN,
        "## Release build (`scripts/bench`)",
        "",
        "Written by `scripts/bench`%s on %s, %s, %d cores, in %d s: release build, the local"
        % (" --quick" if quick else "", datetime.date.today().isoformat(), platform.machine(),
           os.cpu_count() or 0, seconds),
        "stack (PostgreSQL 15 on loopback, moto, NATS JetStream), load generators in the same",
        "process as the server unless a row says otherwise.",
        "",
    ]
    for table in ["graphql", "saga", "fanout", "lag", "writes", "search"]:
        rows = tables.get(table)
        if not rows:
            continue
        known = COLUMNS.get(table, [])
        columns = [c for c in known if c in rows[0]] + [c for c in rows[0] if c not in known]
        lines += ["### " + TITLES.get(table, table), "", "| " + " | ".join(columns) + " |",
                  "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(str(r.get(c, "")) for c in columns) + " |" for r in rows]
        lines.append("")
    lines += ["| figure | value | goal | met |", "|---|---|---|---|"]
    for key, goal, met in GOALS:
        value = metrics.get(key)
        shown = "—" if value is None else (f"{value:.2f}" if isinstance(value, float) else str(value))
        verdict = "" if met is None or value is None else ("yes" if met(value) else "**no**")
        lines.append(f"| `{key}` | {shown} | {goal} | {verdict} |")
    lines += ["", END]
    section = "\n".join(lines)

    doc = open(doc_path).read()
    if BEGIN in doc and END in doc:
        before, rest = doc.split(BEGIN, 1)
        after = rest.split(END, 1)[1]
        doc = before + section + after
    else:
        head, _, body = doc.partition("\n\n")
        doc = head + "\n\n" + section + "\n\n" + body
    open(doc_path, "w").write(doc)

    for key, goal, met in GOALS:
        value = metrics.get(key)
        if met is not None and value is not None and not met(value):
            print(f"[bench] {key} = {value:.2f}: misses its goal ({goal})", file=sys.stderr)
    print(json.dumps({key: metrics.get(key) for key, _, _ in GOALS}))


if __name__ == "__main__":
    main()
