"""q2_top_cities_weekend: the 10 cities with the most sales last weekend.

    spark-submit --py-files python/sparkpilot_job.py examples/ecommerce/jobs/q2_top_cities_weekend.py \\
        --clean /data/shop-clean --out /data/shop-results --start 2025-06-09T00:00:00Z --end 2025-06-10T00:00:00Z

Last weekend = the most recent complete Saturday 00:00 to Monday 00:00 (UTC) ending at or before `end`.
Sales = sum of the clean order amounts. Ranked by sales descending, ties broken by city ascending.
Uses the `clean_orders` frame load_clean published in the same run when the session is shared, else reads
`<clean>/orders`. Writes `<out>/q2.json`:
`{"query", "interval", "window", "rows": [{"rank", "city", "sales", "orders"}]}`.
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

from pyspark.sql import functions as F

TOP = 10


def parse_instant(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone; write it like 2025-06-10T00:00:00Z")
    return value.astimezone(timezone.utc)


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def last_weekend(end: datetime) -> tuple[datetime, datetime]:
    """The most recent complete Saturday 00:00 to Monday 00:00 (UTC) that ends at or before `end`."""
    monday = (end - timedelta(days=end.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return monday - timedelta(days=2), monday


def money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


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
    p = argparse.ArgumentParser(prog="q2_top_cities_weekend")
    p.add_argument("--clean", required=True, help="directory load_clean wrote clicks/ and orders/ to")
    p.add_argument("--out", required=True, help="directory to write q2.json to (on the driver)")
    p.add_argument("--start", required=True, type=parse_instant, help="start of the run's data interval")
    p.add_argument("--end", required=True, type=parse_instant, help="end of the run's data interval (exclusive)")
    a = p.parse_args(ctx.args)
    if a.start >= a.end:
        p.error(f"--start {iso(a.start)} is not before --end {iso(a.end)}")
    clean = a.clean.rstrip("/")
    window = last_weekend(a.end)

    orders = ctx.dataset("clean_orders", lambda: ctx.spark.read.parquet(clean + "/orders"))
    top = (
        orders.where((F.col("ts") >= F.lit(window[0])) & (F.col("ts") < F.lit(window[1])))
        .groupBy("city")
        .agg(F.sum("amount").alias("sales"), F.count(F.lit(1)).alias("orders"))
        .orderBy(F.col("sales").desc(), F.col("city").asc())
        .limit(TOP)
        .collect()
    )
    rows = [
        {"rank": i + 1, "city": r.city, "sales": money(r.sales), "orders": int(r.orders)} for i, r in enumerate(top)
    ]
    path = os.path.join(a.out, "q2.json")
    write_result(path, "q2_top_cities_weekend", (a.start, a.end), window, rows)
    lead = f"{rows[0]['city']} first with {rows[0]['sales']:.2f}" if rows else "no orders"
    print(f"q2_top_cities_weekend: {len(rows)} cities, {lead}, weekend [{iso(window[0])}, {iso(window[1])}) -> {path}")


if __name__ == "__main__":
    from sparkpilot_job import main

    main(run)
