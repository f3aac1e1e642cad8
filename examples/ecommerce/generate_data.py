"""Generate the raw hourly click and order events of the ecommerce example (pure Python, seeded).

    python generate_data.py --out /tmp/shop --end 2025-06-10T00:00:00Z --days 8 --events-per-hour 400

writes one JSON Lines file per event kind and hour, for the `--days` days ending at `--end`:

    <out>/clicks/dt=YYYY-MM-DD/hour=HH/part-0.jsonl   event_id, user_id, ts, page, action
    <out>/orders/dt=YYYY-MM-DD/hour=HH/part-0.jsonl   order_id, user_id, ts, city, category, amount

The partition is the hour an event *arrived*; `ts` is when it happened. The same arguments always give
the same bytes. The data is deliberately dirty, the way real event feeds are (see README.md,
"The data"): exact duplicates, missing users, malformed timestamps, bad amounts, city and category
spelling variants, late and early events, and a few truncated lines.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

USERS = 3000

# (city, weight): a skewed distribution, so the top 10 is mostly stable but not trivially so.
CITIES = [
    ("Berlin", 30),
    ("London", 28),
    ("Paris", 26),
    ("Madrid", 22),
    ("New York", 22),
    ("Rome", 18),
    ("Amsterdam", 16),
    ("Vienna", 14),
    ("Zürich", 12),
    ("São Paulo", 12),
    ("Lisbon", 10),
    ("Prague", 10),
    ("Warsaw", 9),
    ("Dublin", 8),
    ("Oslo", 7),
    ("Stockholm", 7),
    ("Helsinki", 6),
    ("Athens", 6),
    ("Budapest", 5),
    ("Frankfurt Am Main", 5),
]
CATEGORIES = [
    ("electronics", 20),
    ("books", 25),
    ("fashion", 20),
    ("home & garden", 12),
    ("toys", 10),
    ("sports", 8),
    ("beauty", 5),
]
ACTIONS = [("View", 55), ("AddToCart", 15), ("Search", 12), ("Register", 8), ("Checkout", 6), ("Login", 4)]
REGISTER_VARIANTS = ["Register", "Register", "Register", "register ", " REGISTER", "register"]
PAGES = ["/", "/search", "/cart", "/checkout", "/register", "/login"]
MALFORMED_TS = [
    "not-a-timestamp",
    "",
    "2025-13-45T99:00:00Z",
    "2025-02-30T10:00:00Z",
    "{day} {hh}:17:00",  # space instead of T, no zone
    "{day}T{hh}:17:00",  # no zone: ambiguous, rejected
    "1749470000",  # epoch seconds
    "{day}T{hh}:17Z",  # no seconds
]
BAD_AMOUNTS = ["-12.50", -3.2, 0, "0.00", "abc", "12,50", None, "", "1.999", "N/A"]


def parse_instant(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone; write it like 2025-06-10T00:00:00Z")
    return value.astimezone(timezone.utc)


def pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def iso(t: datetime, rng: random.Random) -> str:
    """A valid ISO 8601 timestamp, mostly `...Z`, sometimes with milliseconds or a +02:00 offset."""
    r = rng.random()
    if r < 0.07:
        return t.astimezone(timezone(timedelta(hours=2))).strftime("%Y-%m-%dT%H:%M:%S+02:00")
    if r < 0.12:
        return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{t.microsecond // 1000:03d}Z"
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def event_time(rng: random.Random, hour: datetime) -> str:
    """When an event that arrived in `hour` happened, and how the feed wrote it down."""
    r = rng.random()
    if r < 0.025:  # late: happened 1 to 3 hours before it arrived
        t = hour - timedelta(hours=rng.randint(1, 3)) + timedelta(seconds=rng.randrange(3600))
    elif r < 0.03:  # early (clock skew): stamped a few minutes into the next hour
        t = hour + timedelta(hours=1, seconds=rng.randrange(1, 600))
    else:
        t = hour + timedelta(seconds=rng.randrange(3600))
    t = t.replace(microsecond=rng.randrange(1000) * 1000)
    if rng.random() < 0.015:
        text = rng.choice(MALFORMED_TS).format(day=hour.strftime("%Y-%m-%d"), hh=hour.strftime("%H"))
        return text
    return iso(t, rng)


def user_id(rng: random.Random) -> str | None:
    r = rng.random()
    if r < 0.01:
        return None
    if r < 0.013:
        return rng.choice(["", "  "])
    return f"u{rng.randint(1, USERS):05d}"


def variant(rng: random.Random, name: str) -> str:
    """Spelling variants a hand-fed system produces: case, padding, doubled spaces."""
    r = rng.random()
    if r < 0.6:
        return name
    return rng.choice(
        [
            name.lower(),
            name.upper(),
            f"  {name}",
            f"{name} ",
            f" {name.lower()}  ",
            name.replace(" ", "  "),
        ]
    )


def amount(rng: random.Random) -> float | str | int | None:
    if rng.random() < 0.04:
        return rng.choice(BAD_AMOUNTS)
    value = round(min(999.99, max(1.0, rng.lognormvariate(3.4, 0.9))), 2)
    r = rng.random()
    if r < 0.55:
        return value  # JSON number
    if r < 0.9:
        return f"{value:.2f}"  # JSON string
    return f" {value:.2f} "  # padded string


def clicks_for(rng: random.Random, hour: datetime, n: int) -> list[dict]:
    rows = []
    key = hour.strftime("%Y%m%d%H")
    for i in range(n):
        ts = event_time(rng, hour)
        action = pick(rng, ACTIONS)
        if action == "Register":
            action = rng.choice(REGISTER_VARIANTS)
        elif rng.random() < 0.005:
            action = None
        page = (
            "/register"
            if action and action.strip().lower() == "register"
            else rng.choice(PAGES + [f"/product/{rng.randint(1, 500)}"] * 4)
        )
        rows.append({"event_id": f"c-{key}-{i:05d}", "user_id": user_id(rng), "ts": ts, "page": page, "action": action})
        # The same user often registers twice (double click, retry): Q1 counts users, not clicks.
        if action and action.strip().lower() == "register" and rng.random() < 0.25:
            ts2 = event_time(rng, hour)
            rows.append({**rows[-1], "event_id": f"c-{key}-{i:05d}b", "ts": ts2})
    return rows


def orders_for(rng: random.Random, hour: datetime, n: int) -> list[dict]:
    rows = []
    key = hour.strftime("%Y%m%d%H")
    for i in range(n):
        ts = event_time(rng, hour)
        city = None if rng.random() < 0.005 else variant(rng, pick(rng, CITIES))
        category = None if rng.random() < 0.005 else variant(rng, pick(rng, CATEGORIES))
        rows.append(
            {
                "order_id": f"o-{key}-{i:05d}",
                "user_id": user_id(rng),
                "ts": ts,
                "city": city,
                "category": category,
                "amount": amount(rng),
            }
        )
    return rows


def dirty(rng: random.Random, rows: list[dict], carry: list[dict]) -> tuple[list[str], list[dict]]:
    """Serialize rows as JSON lines with exact duplicates, redeliveries and the odd truncated line.

    Returns this hour's lines and the rows to redeliver in the next hour's file.
    """
    out = [json.dumps(r, ensure_ascii=False) for r in carry]
    next_carry = []
    for r in rows:
        line = json.dumps(r, ensure_ascii=False)
        out.append(line)
        x = rng.random()
        if x < 0.015:
            out.append(line)  # exact duplicate in the same file
        elif x < 0.025:
            next_carry.append(r)  # redelivered an hour later
    if rng.random() < 0.15:
        # A writer crashed mid-line: cut inside the "ts" value so no usable event survives.
        victim = json.dumps(rng.choice(rows), ensure_ascii=False)
        out.insert(rng.randrange(len(out) + 1), victim[: victim.index('"ts": "') + 12])
    return out, next_carry


def write(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, type=Path, help="directory to write clicks/ and orders/ under")
    p.add_argument(
        "--end", required=True, type=parse_instant, help="end of the data (exclusive), e.g. 2025-06-10T00:00:00Z"
    )
    p.add_argument("--days", type=int, default=8, help="days of hourly partitions before --end (default 8)")
    p.add_argument("--events-per-hour", type=int, default=400, help="clicks per hour; orders are a quarter of it")
    p.add_argument("--seed", type=int, default=42)
    a = p.parse_args(argv)
    if a.end.minute or a.end.second or a.end.microsecond:
        p.error(f"--end {a.end.isoformat()} is not on the hour; partitions are hourly")
    if a.days < 1 or a.events_per_hour < 1:
        p.error("--days and --events-per-hour must be at least 1")

    rng = random.Random(a.seed)
    for kind in ("clicks", "orders"):
        shutil.rmtree(a.out / kind, ignore_errors=True)
    first = a.end - timedelta(days=a.days)
    carry = {"clicks": [], "orders": []}
    totals = {"clicks": [0, 0], "orders": [0, 0]}  # files, lines
    for h in range(a.days * 24):
        hour = first + timedelta(hours=h)
        # A daily rhythm: quiet nights, busy evenings (0.6x to 1.4x, peak at 18:00).
        scale = 1 + 0.4 * math.sin((hour.hour - 12) / 24 * 2 * math.pi)
        n_clicks = max(1, int(a.events_per_hour * scale * rng.uniform(0.9, 1.1)))
        n_orders = max(1, n_clicks // 4)
        part = f"dt={hour:%Y-%m-%d}/hour={hour:%H}/part-0.jsonl"
        for kind, rows in (("clicks", clicks_for(rng, hour, n_clicks)), ("orders", orders_for(rng, hour, n_orders))):
            lines, carry[kind] = dirty(rng, rows, carry[kind])
            write(a.out / kind / part, lines)
            totals[kind][0] += 1
            totals[kind][1] += len(lines)
    for kind, (files, lines) in totals.items():
        size = sum(f.stat().st_size for f in (a.out / kind).rglob("*.jsonl"))
        print(f"generate_data: {kind}: {lines} lines in {files} files ({size / 1e6:.1f} MB) under {a.out / kind}")


if __name__ == "__main__":
    main(sys.argv[1:])
