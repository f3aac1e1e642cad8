"""q3_sales_by_category: total sales per product category over the last day of the run.

    spark-submit --py-files python/sparkpilot_job.py examples/ecommerce/jobs/q3_sales_by_category.py \\
        --clean /data/shop-clean --out /data/shop-results --start 2025-06-09T00:00:00Z --end 2025-06-10T00:00:00Z

Last day = [end - 24 hours, end). Sales = sum of the clean order amounts, per (lower-case) category.
Uses the `clean_orders` frame load_clean published in the same run when the session is shared, else reads
`<clean>/orders`. Writes `<out>/q3.json`: `{"query", "interval", "window", "rows": [{"category", "sales", "orders"}]}`,
rows by sales descending then category ascending.
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

from pyspark.sql import functions as F


def parse_instant(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone; write it like 2025-06-10T00:00:00Z")
    return value.astimezone(timezone.utc)


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    p = argparse.ArgumentParser(prog="q3_sales_by_category")
    p.add_argument("--clean", required=True, help="directory load_clean wrote clicks/ and orders/ to")
    p.add_argument("--out", required=True, help="directory to write q3.json to (on the driver)")
    p.add_argument("--start", required=True, type=parse_instant, help="start of the run's data interval")
    p.add_argument("--end", required=True, type=parse_instant, help="end of the run's data interval (exclusive)")
    a = p.parse_args(ctx.args)
    if a.start >= a.end:
        p.error(f"--start {iso(a.start)} is not before --end {iso(a.end)}")
    clean = a.clean.rstrip("/")
    window = (a.end - timedelta(days=1), a.end)

    orders = ctx.dataset("clean_orders", lambda: ctx.spark.read.parquet(clean + "/orders"))
    totals = (
        orders.where((F.col("ts") >= F.lit(window[0])) & (F.col("ts") < F.lit(window[1])))
        .groupBy("category")
        .agg(F.sum("amount").alias("sales"), F.count(F.lit(1)).alias("orders"))
        .orderBy(F.col("sales").desc(), F.col("category").asc())
        .collect()
    )
    rows = [{"category": r.category, "sales": money(r.sales), "orders": int(r.orders)} for r in totals]
    path = os.path.join(a.out, "q3.json")
    write_result(path, "q3_sales_by_category", (a.start, a.end), window, rows)
    total = sum((r.sales for r in totals), Decimal(0))
    span = f"[{iso(window[0])}, {iso(window[1])})"
    print(f"q3_sales_by_category: {len(rows)} categories, {money(total):.2f} in sales in {span} -> {path}")


if __name__ == "__main__":
    from sparkpilot_job import main

    main(run)
