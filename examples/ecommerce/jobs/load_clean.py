"""load_clean: read the raw hourly click and order partitions, clean them and publish them.

    spark-submit --py-files python/sparkpilot_job.py examples/ecommerce/jobs/load_clean.py \\
        --raw /data/shop --clean /data/shop-clean --start 2025-06-09T00:00:00Z --end 2025-06-10T00:00:00Z

Reads the partitions `<raw>/{clicks,orders}/dt=YYYY-MM-DD/hour=HH/` whose hour overlaps the lookback
[L, end), where L = min(end - 7 days, start of the last weekend): enough for the last hour, the last day
and the last weekend of the run. Cleans them by the rules in README.md ("Cleaning rules"; expected.py
applies the same rules in plain Python), keeps events whose own `ts` lies in [L, end) whichever partition
they arrived in, and writes Parquet to `<clean>/clicks` and `<clean>/orders` (overwriting). The frames are
published as `clean_clicks` and `clean_orders` for the query jobs of the same run.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta, timezone

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

LOOKBACK = timedelta(days=7)

# Everything is read as a string (a JSON number comes back as its text), so no value is lost or coerced
# before the cleaning rules look at it. Naming the partition columns here keeps dt and hour strings
# ("00", not 0).
CLICKS_RAW = StructType(
    [StructField(c, StringType()) for c in ("event_id", "user_id", "ts", "page", "action", "dt", "hour")]
)
ORDERS_RAW = StructType(
    [StructField(c, StringType()) for c in ("order_id", "user_id", "ts", "city", "category", "amount", "dt", "hour")]
)

# A timestamp must be ISO 8601 with seconds and a zone: 2025-06-09T13:45:12Z, 2025-06-09T13:45:12.250Z,
# 2025-06-09T15:45:12+02:00. Anything else (no zone, a space for T, epoch numbers, impossible dates) is dropped.
TS_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3})?(Z|[+-][0-9]{2}:[0-9]{2})\z"
TS_FORMAT = "yyyy-MM-dd'T'HH:mm:ss[.SSS]XXX"
# An amount is a plain positive decimal with at most 2 decimals, optionally padded with spaces.
AMOUNT_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,2})?\z"


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


def lookback_start(end: datetime) -> datetime:
    """end - 7 days, or earlier when the last complete weekend began before that (runs ending on a Sunday)."""
    return min(end - LOOKBACK, last_weekend(end)[0])


def floor_hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def hour_key(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H")


def spaces(c: Column) -> Column:
    """Runs of whitespace become one space; leading and trailing spaces go."""
    return F.trim(F.regexp_replace(c, r"\s+", " "))


def present(c: Column) -> Column:
    return c.isNotNull() & (c != "")


def read_raw(ctx, path: str, schema: StructType, start: datetime, end: datetime) -> DataFrame:
    """The rows of the hourly partitions overlapping [start, end); partition pruning skips the rest."""
    first = floor_hour(start)
    last = floor_hour(end) if end == floor_hour(end) else floor_hour(end) + timedelta(hours=1)
    key = F.concat(F.col("dt"), F.lit("T"), F.col("hour"))
    return (
        ctx.spark.read.schema(schema)
        .json(path)
        .where((F.col("dt") >= first.strftime("%Y-%m-%d")) & (F.col("dt") <= end.strftime("%Y-%m-%d")))
        .where((key >= hour_key(first)) & (key < hour_key(last)))
    )


def event_ts(c: Column) -> Column:
    return F.when(c.rlike(TS_PATTERN), F.try_to_timestamp(c, F.lit(TS_FORMAT)))


def clean_clicks(raw: DataFrame, start: datetime, end: datetime) -> DataFrame:
    df = raw.select(
        F.col("event_id"),
        F.trim(F.col("user_id")).alias("user_id"),
        event_ts(F.col("ts")).alias("ts"),
        F.col("page"),
        F.lower(spaces(F.col("action"))).alias("action"),
    )
    return (
        df.where(present(F.col("event_id")) & present(F.col("user_id")) & present(F.col("action")))
        .where(F.col("ts").isNotNull() & (F.col("ts") >= F.lit(start)) & (F.col("ts") < F.lit(end)))
        .dropDuplicates(["event_id"])
    )


def clean_orders(raw: DataFrame, start: datetime, end: datetime) -> DataFrame:
    amount = F.trim(F.col("amount"))
    df = raw.select(
        F.col("order_id"),
        F.trim(F.col("user_id")).alias("user_id"),
        event_ts(F.col("ts")).alias("ts"),
        F.initcap(spaces(F.col("city"))).alias("city"),
        F.lower(spaces(F.col("category"))).alias("category"),
        F.when(amount.rlike(AMOUNT_PATTERN), amount.cast("decimal(18,2)")).alias("amount"),
    )
    return (
        df.where(present(F.col("order_id")) & present(F.col("user_id")))
        .where(present(F.col("city")) & present(F.col("category")))
        .where(F.col("amount").isNotNull() & (F.col("amount") > 0))
        .where(F.col("ts").isNotNull() & (F.col("ts") >= F.lit(start)) & (F.col("ts") < F.lit(end)))
        .dropDuplicates(["order_id"])
    )


def run(ctx) -> None:
    p = argparse.ArgumentParser(prog="load_clean")
    p.add_argument("--raw", required=True, help="directory holding clicks/ and orders/ raw partitions")
    p.add_argument("--clean", required=True, help="directory to write clicks/ and orders/ Parquet to")
    p.add_argument("--start", required=True, type=parse_instant, help="start of the run's data interval")
    p.add_argument("--end", required=True, type=parse_instant, help="end of the run's data interval (exclusive)")
    a = p.parse_args(ctx.args)
    if a.start >= a.end:
        p.error(f"--start {iso(a.start)} is not before --end {iso(a.end)}")
    start = lookback_start(a.end)
    raw_root, clean_root = a.raw.rstrip("/"), a.clean.rstrip("/")

    counts = []
    for name, schema, clean in (("clicks", CLICKS_RAW, clean_clicks), ("orders", ORDERS_RAW, clean_orders)):
        raw = read_raw(ctx, f"{raw_root}/{name}", schema, start, a.end)
        df = ctx.publish(f"clean_{name}", clean(raw, start, a.end))
        df.write.mode("overwrite").parquet(f"{clean_root}/{name}")
        counts.append(f"{name} {raw.count()} raw -> {ctx.spark.read.parquet(f'{clean_root}/{name}').count()} clean")
    print(f"load_clean: [{iso(start)}, {iso(a.end)}): {', '.join(counts)} -> {clean_root}")


if __name__ == "__main__":
    from sparkpilot_job import main

    main(run)
