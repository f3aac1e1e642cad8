"""The answers the ecommerce jobs must give, computed in plain Python straight from the raw files.

    python expected.py --raw /tmp/shop --end 2025-06-10T00:00:00Z --out /tmp/shop-expected

writes q1.json, q2.json and q3.json in the shape the Spark jobs write, so a test can compare the two.
It shares no code with the jobs: it reads the same partitions and applies the same cleaning rules
(README.md, "Cleaning rules") on its own, so a bug on one side shows up as a difference.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

TS_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3})?(Z|[+-][0-9]{2}:[0-9]{2})")
AMOUNT_PATTERN = re.compile(r"[0-9]{1,12}(\.[0-9]{1,2})?")
WHITESPACE = re.compile(r"\s+", re.ASCII)
CENT = Decimal("0.01")


def parse_instant(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone; write it like 2025-06-10T00:00:00Z")
    return value.astimezone(timezone.utc)


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def windows(end: datetime) -> dict[str, tuple[datetime, datetime]]:
    monday = (end - timedelta(days=end.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    weekend = (monday - timedelta(days=2), monday)
    return {
        "lookback": (min(end - timedelta(days=7), weekend[0]), end),
        "hour": (end - timedelta(hours=1), end),
        "day": (end - timedelta(days=1), end),
        "weekend": weekend,
    }


def text(value) -> str | None:
    """A field as the jobs see it: JSON strings as they are, numbers as their JSON text."""
    if value is None or isinstance(value, (bool, dict, list)):
        return None if value is None else json.dumps(value)
    return value  # str (numbers arrive as str through parse_int/parse_float)


def spaces(value: str | None) -> str | None:
    return None if value is None else WHITESPACE.sub(" ", value).strip(" ")


def present(value: str | None) -> bool:
    return value is not None and value != ""


def timestamp(value: str | None) -> datetime | None:
    if value is None or not TS_PATTERN.fullmatch(value):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)
    except ValueError:  # 2025-02-30, hour 99, ...
        return None


def title(value: str | None) -> str | None:
    """Spark's initcap: each space-separated word gets an upper-case first letter, the rest lower case."""
    return None if value is None else " ".join(w[:1].upper() + w[1:].lower() for w in value.split(" "))


def amount(value: str | None) -> Decimal | None:
    value = None if value is None else value.strip(" ")
    if value is None or not AMOUNT_PATTERN.fullmatch(value):
        return None
    return Decimal(value) if Decimal(value) > 0 else None


def read(root: Path, kind: str, start: datetime, end: datetime):
    """Raw records of the hourly partitions overlapping [start, end), malformed lines skipped."""
    hour = start.replace(minute=0, second=0, microsecond=0)
    while hour < end:
        f = root / kind / f"dt={hour:%Y-%m-%d}" / f"hour={hour:%H}" / "part-0.jsonl"
        if f.exists():
            for line in f.read_text(encoding="utf-8").splitlines():
                try:
                    record = json.loads(line, parse_int=str, parse_float=str)
                except ValueError:
                    continue
                if isinstance(record, dict):
                    yield record
        hour += timedelta(hours=1)


def clean(root: Path, kind: str, start: datetime, end: datetime) -> list[dict]:
    id_field = "event_id" if kind == "clicks" else "order_id"
    seen: set[str] = set()
    rows = []
    for r in read(root, kind, start, end):
        row = {
            id_field: text(r.get(id_field)),
            "user_id": None if text(r.get("user_id")) is None else text(r.get("user_id")).strip(" "),
            "ts": timestamp(text(r.get("ts"))),
        }
        if kind == "clicks":
            action = spaces(text(r.get("action")))
            row["action"] = None if action is None else action.lower()
            ok = present(row["action"])
        else:
            city, category = spaces(text(r.get("city"))), spaces(text(r.get("category")))
            row["city"] = title(city)
            row["category"] = None if category is None else category.lower()
            row["amount"] = amount(text(r.get("amount")))
            ok = present(row["city"]) and present(row["category"]) and row["amount"] is not None
        if not (ok and present(row[id_field]) and present(row["user_id"]) and row["ts"] is not None):
            continue
        if not start <= row["ts"] < end or row[id_field] in seen:
            continue
        seen.add(row[id_field])
        rows.append(row)
    return rows


def money(value: Decimal) -> float:
    return float(value.quantize(CENT, rounding=ROUND_HALF_UP))


def result(query: str, interval: tuple[datetime, datetime], window: tuple[datetime, datetime], rows: list) -> dict:
    return {
        "query": query,
        "interval": {"start": iso(interval[0]), "end": iso(interval[1])},
        "window": {"start": iso(window[0]), "end": iso(window[1])},
        "rows": rows,
    }


def sales_by(orders: list[dict], key: str, window: tuple[datetime, datetime]) -> list[dict]:
    sales: dict[str, Decimal] = defaultdict(Decimal)
    count: dict[str, int] = defaultdict(int)
    for o in orders:
        if window[0] <= o["ts"] < window[1]:
            sales[o[key]] += o["amount"]
            count[o[key]] += 1
    ordered = sorted(sales, key=lambda k: (-sales[k], k))  # sales desc, then name asc
    return [{key: k, "sales": money(sales[k]), "orders": count[k]} for k in ordered]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--raw", required=True, type=Path, help="directory holding clicks/ and orders/ raw partitions")
    p.add_argument("--end", required=True, type=parse_instant, help="end of the run's data interval (exclusive)")
    p.add_argument("--start", type=parse_instant, help="start of the data interval (default: --end minus 1 day)")
    p.add_argument("--out", required=True, type=Path, help="directory to write q1.json, q2.json, q3.json to")
    a = p.parse_args(argv)
    end = a.end
    interval = (a.start or end - timedelta(days=1), end)
    w = windows(end)
    clicks = clean(a.raw, "clicks", *w["lookback"])
    orders = clean(a.raw, "orders", *w["lookback"])

    registered = [c for c in clicks if c["action"] == "register" and w["hour"][0] <= c["ts"] < w["hour"][1]]
    q1 = [{"register_users": len({c["user_id"] for c in registered}), "register_clicks": len(registered)}]
    q2 = [{"rank": i + 1, **row} for i, row in enumerate(sales_by(orders, "city", w["weekend"])[:10])]
    q3 = sales_by(orders, "category", w["day"])

    a.out.mkdir(parents=True, exist_ok=True)
    for name, query, window, rows in (
        ("q1", "q1_register_users", w["hour"], q1),
        ("q2", "q2_top_cities_weekend", w["weekend"], q2),
        ("q3", "q3_sales_by_category", w["day"], q3),
    ):
        (a.out / f"{name}.json").write_text(
            json.dumps(result(query, interval, window, rows), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    summary = f"q1 {q1[0]}, q2 {len(q2)} cities, q3 {len(q3)} categories"
    print(f"expected: {len(clicks)} clean clicks, {len(orders)} clean orders; {summary} -> {a.out}")


if __name__ == "__main__":
    main(sys.argv[1:])
