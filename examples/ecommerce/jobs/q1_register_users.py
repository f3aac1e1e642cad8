"""q1_register_users: how many distinct users clicked "Register" in the last hour of the run.

    spark-submit --py-files python/sparkpilot_job.py examples/ecommerce/jobs/q1_register_users.py \\
        --clean /data/shop-clean --out /data/shop-results --start 2025-06-09T00:00:00Z --end 2025-06-10T00:00:00Z

Last hour = [end - 1 hour, end). Uses the `clean_clicks` frame load_clean published in the same run when
the session is shared, else reads `<clean>/clicks`. Writes `<out>/q1.json`:
`{"query", "interval": {"start", "end"}, "window": {"start", "end"}, "rows": [{"register_users", "register_clicks"}]}`.
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import datetime, timedelta, timezone

from pyspark.sql import functions as F


def parse_instant(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone; write it like 2025-06-10T00:00:00Z")
    return value.astimezone(timezone.utc)


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_result(path: str, query: str, interval: tuple, window: tuple, rows: list) -> None:
    """One small JSON file, written on the driver and moved into place so readers never see half of it."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    doc = {
        "query": query,
        "interval": {"start": iso(interval[0]), "end": iso(interval[1])},
        "window": {"start": iso(window[0]), "end": iso(window[1])},
        "rows": rows,
    }
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    os.replace(path + ".tmp", path)


def run(ctx) -> None:
    p = argparse.ArgumentParser(prog="q1_register_users")
    p.add_argument("--clean", required=True, help="directory load_clean wrote clicks/ and orders/ to")
    p.add_argument("--out", required=True, help="directory to write q1.json to (on the driver)")
    p.add_argument("--start", required=True, type=parse_instant, help="start of the run's data interval")
    p.add_argument("--end", required=True, type=parse_instant, help="end of the run's data interval (exclusive)")
    a = p.parse_args(ctx.args)
    if a.start >= a.end:
        p.error(f"--start {iso(a.start)} is not before --end {iso(a.end)}")
    clean = a.clean.rstrip("/")
    window = (a.end - timedelta(hours=1), a.end)

    clicks = ctx.dataset("clean_clicks", lambda: ctx.spark.read.parquet(clean + "/clicks"))
    row = (
        clicks.where(
            (F.col("action") == "register") & (F.col("ts") >= F.lit(window[0])) & (F.col("ts") < F.lit(window[1]))
        )
        .agg(F.countDistinct("user_id").alias("register_users"), F.count(F.lit(1)).alias("register_clicks"))
        .first()
    )
    rows = [{"register_users": int(row.register_users), "register_clicks": int(row.register_clicks)}]
    path = os.path.join(a.out, "q1.json")
    write_result(path, "q1_register_users", (a.start, a.end), window, rows)
    users, clicks_n = rows[0]["register_users"], rows[0]["register_clicks"]
    span = f"[{iso(window[0])}, {iso(window[1])})"
    print(f"q1_register_users: {users} users clicked Register {clicks_n} times in {span} -> {path}")


if __name__ == "__main__":
    from sparkpilot_job import main

    main(run)
