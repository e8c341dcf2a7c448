"""
Compare the steady runs of two commits in one scripts/load-test run, from their CSV files:

    compare.py OLD_PREFIX NEW_PREFIX [--old-name NAME] [--new-name NAME]

prints requests per second, errors and the 95th percentile of each, and whether the new one
meets the targets of docs/performance.md: at least 4 times the requests per second, no error,
and a 95th percentile at most a quarter of the old one's. Exits 1 if a target is missed.
"""

import argparse
import csv

# The new commit serves at least this many times the old one's requests per second, with a 95th
# percentile at most the old one's divided by it.
SPEED_UP = 4


def totals(prefix):
    """The aggregated figures of one locust run: requests, failures, requests per second, p95 (ms)."""
    with open(f"{prefix}_stats.csv", newline="") as f:
        total = next(row for row in csv.DictReader(f) if row["Name"] == "Aggregated")
    return {
        "requests": int(total["Request Count"]),
        "failures": int(total["Failure Count"]),
        "rps": float(total["Requests/s"]),
        "p95": float(total["95%"]),
    }


def compare(old, new):
    """Rows of (figure, old, new, target, met) for two runs' ``totals``."""
    faster = new["rps"] >= SPEED_UP * old["rps"]
    shorter = new["p95"] <= old["p95"] / SPEED_UP
    return [
        ("requests/s", f"{old['rps']:.1f}", f"{new['rps']:.1f}", f"new >= {SPEED_UP}x old", faster),
        ("errors", str(old["failures"]), str(new["failures"]), "new = 0", new["failures"] == 0),
        ("p95 ms", f"{old['p95']:.0f}", f"{new['p95']:.0f}", f"new <= old / {SPEED_UP}", shorter),
    ]


def lines(rows, old_name="old", new_name="new"):
    header = ("", old_name, new_name, "target", "result")
    cells = [(name, old, new, target, "PASS" if met else "MISS") for name, old, new, target, met in rows]
    widths = [max(len(row[i]) for row in (header, *cells)) for i in range(len(header))]
    return [
        "  ".join(
            cell.ljust(width) if i in (0, 3) else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in (header, *cells)
    ]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--old-name", default="old")
    parser.add_argument("--new-name", default="new")
    args = parser.parse_args()
    rows = compare(totals(args.old), totals(args.new))
    for line in lines(rows, args.old_name, args.new_name):
        print(f"  {line}")
    missed = [name for name, *_, met in rows if not met]
    print(f"  Targets met: {len(rows) - len(missed)} of {len(rows)}.")
    raise SystemExit(1 if missed else 0)


if __name__ == "__main__":
    main()
