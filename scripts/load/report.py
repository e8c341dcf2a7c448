"""
Summarise one locust run of scripts/load-test from its CSV files:

    report.py PREFIX [--outage DOWN UP]

prints requests, req/s, median and 95th percentile, failures by kind and, with the
outage's start and end (Unix times), what happened to requests around it.
"""

import argparse
import csv
from pathlib import Path


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("prefix")
    parser.add_argument("--outage", nargs=2, type=float, metavar=("DOWN", "UP"))
    args = parser.parse_args()
    prefix = Path(args.prefix)

    with open(f"{prefix}_stats.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    total = next(row for row in rows if row["Name"] == "Aggregated")
    print(
        f"  requests {int(total['Request Count'])}, failures {int(total['Failure Count'])}, "
        f"{float(total['Requests/s']):.1f} req/s, median {total['50%']} ms, p95 {total['95%']} ms, "
        f"max {float(total['Max Response Time']):.0f} ms"
    )
    for row in rows:
        if row["Name"] != "Aggregated" and row["Type"] != "POST":
            print(f"    {row['Name']:<36} {int(row['Request Count']):>6} req  p95 {row['95%']:>6} ms")

    with open(f"{prefix}_failures.csv", newline="") as f:
        for row in csv.DictReader(f):
            print(f"  failed: {row['Occurrences']} x {row['Method']} {row['Name']}: {row['Error']}")

    if args.outage:
        down, up = args.outage
        print(f"  PostgreSQL was restarting for {up - down:.1f} s")
        with open(f"{prefix}_stats_history.csv", newline="") as f:
            history = [row for row in csv.DictReader(f) if row["Name"] == "Aggregated"]
        # Locust's history is cumulative, one line per second: difference it.
        previous_requests = previous_failures = 0
        recovered = None
        for row in history:
            at = int(row["Timestamp"])
            requests, failures = int(row["Total Request Count"]), int(row["Total Failure Count"])
            new_requests, new_failures = requests - previous_requests, failures - previous_failures
            previous_requests, previous_failures = requests, failures
            if down - 3 <= at <= up + 10:
                print(f"    t{at - down:+5.0f} s  {new_requests:>4} requests  {new_failures:>4} failed")
            if recovered is None and at > up and new_requests and not new_failures:
                recovered = at - up
        if recovered is not None:
            print(f"  requests succeeded again {recovered:.0f} s after PostgreSQL was back")


if __name__ == "__main__":
    main()
