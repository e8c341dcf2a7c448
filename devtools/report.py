"""
The dashboard benchmark's report (``benchmark.Report``) as lines of text: what the figures were taken on, one
table of the targets met or missed, one of details, and the check that a change shows.
"""

import statistics

from devtools import benchmark


def format_load(averages):
    return "/".join(f"{value:.2f}" for value in averages)


def format_report(report):
    """The report as lines of text: what was measured on, one table of the targets, one of details, the check."""
    data, box = report.dataset, report.machine
    (load_before, load_after), cores = report.load, box["cores"]
    lines = [
        f"Dashboard benchmark, {report.taken_at:%Y-%m-%d %H:%M} UTC",
        f"Dataset: {data['ratings']:,} ratings and {data['history_rows']:,} history rows "
        f"({data['states']} States x {data['measures']} measures x 2 kinds); as of = {report.as_of.isoformat()}",
        f"Machine: {box['cpu']}, {cores} cores; PostgreSQL {box['postgresql']} (shared_buffers "
        f"{box['shared_buffers']}, work_mem {box['work_mem']}); Python {box['python']}; Django {box['django']}; "
        f"cache {box['cache']}",
        f"Load average (1/5/15 min): {format_load(load_before)} at the start, {format_load(load_after)} at the end"
        + (
            " - a loaded machine: compare ratios, not times." if max(load_before[0], load_after[0]) > cores / 2 else ""
        ),
        f"Server time (ms) of {report.runs} requests per series (fewer past the time budget: see runs) after "
        f"{report.warmups} warm-ups, in-process, DEBUG off, gzip accepted.",
    ]
    for reader, name in benchmark.READERS.items():
        before, after = report.reference[reader]
        lines.append(
            f"Reference page (signed in, empty body), {name}: median {report.reference_median(reader):.1f} ms "
            f"({statistics.median(before):.1f} before the pages, {statistics.median(after):.1f} after)"
        )
    lines += [
        "first = a cache miss, as after a change; repeat = from the cache; 304 = If-None-Match with the page's "
        f"ETag. Targets: first <= the median of 27 Nov 13:17; repeat <= {benchmark.REPEAT_TARGET:g}x reference; "
        f"304 <= {benchmark.REVALIDATION_TARGET:g}x reference; x ref = median / the reader's reference median.",
        "",
    ]
    header = (
        "page", "reader", "runs", "first", "x ref", "27 Nov", "first ok",
        "repeat", "x ref", f"<={benchmark.REPEAT_TARGET:g}x", "304", "x ref", f"<={benchmark.REVALIDATION_TARGET:g}x",
    )  # fmt: skip
    rows = []
    for result, verdicts in zip(report.results, report.verdicts(), strict=True):
        reference = report.reference_median(result.page.reader)
        baseline = result.page.baseline
        revalidated = result.revalidation_median
        rows.append(
            (
                result.page.url,
                benchmark.READERS[result.page.reader],
                str(len(result.first)),
                f"{result.first_median:.1f}",
                _times(benchmark.ratio(result.first_median, reference)),
                f"{baseline}" if baseline else "-",
                verdicts["first"],
                f"{result.repeat_median:.1f}",
                _times(benchmark.ratio(result.repeat_median, reference)),
                verdicts["repeat"],
                f"{revalidated:.1f}" if revalidated is not None else _no_revalidation(result),
                _times(benchmark.ratio(revalidated, reference)),
                verdicts["revalidation"],
            )
        )
    lines += _table(header, rows)
    missed, targets = report.missed
    lines += ["", f"Targets met: {targets - missed} of {targets}."]
    lines += [
        "",
        "Details (medians, ms): SQL = time in the database during a first view; queries of a first view / a "
        "repeat view / a 304; HTML KB as rendered, sent KB as compressed"
        + ("; floor = the raw SQL of the page's cells + json.dumps, for information." if _has_floors(report) else "."),
    ]
    header = ("page", "reader", "first p90", "repeat p90", "SQL", "queries", "HTML KB", "sent KB")
    if _has_floors(report):
        header += ("floor",)
    rows = []
    for result in report.results:
        row = (
            result.page.url,
            benchmark.READERS[result.page.reader],
            f"{benchmark.percentile(result.first, 90):.1f}",
            f"{benchmark.percentile(result.repeat, 90):.1f}",
            f"{statistics.median(result.sql):.1f}",
            " / ".join("-" if count is None else str(count) for count in result.queries),
            f"{result.size / 1024:.0f}",
            f"{result.sent / 1024:.0f}",
        )
        if _has_floors(report):
            row += (f"{result.floor:.1f}",)
        rows.append(row)
    lines += _table(header, rows)
    lines += [
        "",
        "Freshness: a self-report changed through the workflow (submitted, then accepted) between two views:",
    ]
    lines += [f"  ok: {line}" for line in report.freshness]
    lines += [f"  STALE: {line}" for line in report.stale]
    return lines


def _times(value):
    return f"{value:.2f}" if value is not None else "-"


def _no_revalidation(result):
    return "no ETag" if result.revalidation_status is None else f"got {result.revalidation_status}"


def _has_floors(report):
    return any(result.floors for result in report.results)


def _table(header, rows):
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def line(cells):
        return "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return [line(header), line(["-" * w for w in widths]), *[line(row) for row in rows]]
