"""
The browser benchmark: the dashboards as a reader on a slow mobile link sees them.

``measure_in_browser`` drives Chromium (Playwright, the Debian binary that tests/browser uses)
against a running server, signed in as the benchmark's analyst, under Lighthouse's "Slow 4G"
profile: 150 ms of latency, 1.6 Mbit/s down, 750 kbit/s up, the CPU slowed 4×. For each page it
opens a fresh browser context (nothing cached), loads the page, and records the DOM elements, the
bytes transferred, the load event and the Largest Contentful Paint; then it loads the page again
in the same context, as a reader coming back to it. Run it through ``scripts/bench-browser``
(``make bench-browser``), which serves the benchmark dataset on loopback (docs/performance.md).
"""

import dataclasses
import os
import statistics

from django.conf import settings
from django.test import Client

from devtools.benchmark import REGIONS, STATE
from devtools.dataset import ANALYST, BenchmarkError, ensure_readers
from devtools.report import format_load

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Lighthouse's "Slow 4G" (its mobile throttling): bytes per second for CDP.
LATENCY_MS = 150
DOWNLOAD = 1_600_000 / 8
UPLOAD = 750_000 / 8
CPU_SLOWDOWN = 4
# The laptop screen.
VIEWPORT = {"width": 1366, "height": 768}
DEFAULT_RUNS = 3
# Targets: every page loads within this many ms, with fewer DOM elements than this.
LOAD_TARGET_MS = 2000
ELEMENTS_TARGET = 8000
# Each page's time to load at most, before Playwright gives up on it.
TIMEOUT_MS = 60_000

# Largest Contentful Paint is only given to an observer: keep the latest candidate.
_WATCH_PAINTS = """
window.largestPaint = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.largestPaint = entry.startTime;
}).observe({type: "largest-contentful-paint", buffered: true});
"""
_READ_PAGE = """() => {
  const navigation = performance.getEntriesByType("navigation")[0];
  return {
    load: navigation.loadEventEnd,
    paint: window.largestPaint,
    elements: document.getElementsByTagName("*").length,
    status: navigation.responseStatus,
  };
}"""


def paths():
    """The pages measured: the overview, the four workshop regions and Jamaica's page."""
    return ["/", *(f"/regions/{slug}/" for slug in REGIONS), f"/states/{STATE}/"]


@dataclasses.dataclass(frozen=True)
class Visit:
    """One load of a page: milliseconds from navigation to the load event's end and to the LCP."""

    load: float
    paint: float
    elements: int
    transferred: int  # bytes, headers included, of every response the page needed


@dataclasses.dataclass(frozen=True)
class BrowserResult:
    """A page's first visits (nothing cached) and return visits (the same context, again), one per run."""

    path: str
    first: list
    again: list

    @property
    def load(self):
        return statistics.median(visit.load for visit in self.first)

    @property
    def elements(self):
        return max(visit.elements for visit in self.first)

    @property
    def passed(self):
        return {"load": self.load < LOAD_TARGET_MS, "elements": self.elements < ELEMENTS_TARGET}


def session_cookie(user):
    """A signed-in session for ``user``, made as the test client makes one: its cookie's name and value."""
    client = Client()
    client.force_login(user)
    return settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value


def measure_in_browser(base_url, *, runs=DEFAULT_RUNS):
    """Load every page of ``paths()`` on the server at ``base_url`` ``runs`` times each; a ``BrowserResult`` each."""
    if not os.path.exists(CHROMIUM):
        raise BenchmarkError(f"Chromium not found at {CHROMIUM}: apt-get install chromium (or set CHROMIUM).")
    from playwright.sync_api import sync_playwright

    cookie = session_cookie(ensure_readers()[ANALYST])
    results = []
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for path in paths():
                visits = [_visit_twice(browser, base_url, path, cookie) for _ in range(runs)]
                results.append(BrowserResult(path, [first for first, _ in visits], [again for _, again in visits]))
        finally:
            browser.close()
    return results


def _visit_twice(browser, base_url, path, cookie):
    context = browser.new_context(base_url=base_url, viewport=VIEWPORT)
    try:
        name, value = cookie
        context.add_cookies([{"name": name, "value": value, "url": base_url}])
        context.add_init_script(_WATCH_PAINTS)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": LATENCY_MS, "downloadThroughput": DOWNLOAD, "uploadThroughput": UPLOAD},
        )
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
        received = []
        cdp.on("Network.loadingFinished", lambda event: received.append(event["encodedDataLength"]))
        first = _visit(page, path, received)
        again = _visit(page, path, received)
        return first, again
    finally:
        context.close()


def _visit(page, path, received):
    received.clear()
    page.goto(path, wait_until="load")
    page.wait_for_function("performance.getEntriesByType('navigation')[0].loadEventEnd > 0")
    # Let the last paint and the last responses' events arrive.
    page.wait_for_timeout(500)
    found = page.evaluate(_READ_PAGE)
    if found["status"] not in (200, 304) or page.url.rstrip("/").endswith("/accounts/login"):
        raise BenchmarkError(f"{path} answered {found['status']} ({page.url}) to the benchmark's analyst.")
    return Visit(load=found["load"], paint=found["paint"], elements=found["elements"], transferred=sum(received))


def format_results(results, *, load):
    """The results as lines of text, with the load averages (before, after) of the machine."""
    before, after = load
    lines = [
        f"Browser benchmark: Chromium at {VIEWPORT['width']} px, as an analyst, under Slow 4G ({LATENCY_MS} ms, "
        f"{DOWNLOAD * 8 / 1e6:g} Mbit/s down, {UPLOAD * 8 / 1e3:g} kbit/s up, CPU {CPU_SLOWDOWN}x slower)",
        f"Load average (1/5/15 min): {format_load(before)} at the start, {format_load(after)} at the end",
        f"Medians of {len(results[0].first) if results else 0} runs. first = a new browser context, nothing "
        "cached; again = the same page loaded once more in that context. load = the load event's end, LCP = "
        f"Largest Contentful Paint, ms from navigation. Targets: load < {LOAD_TARGET_MS:,} ms (first), "
        f"< {ELEMENTS_TARGET:,} elements.",
        "",
    ]
    header = ("page", "elements", "KB", "load", "LCP", "KB again", "load again", "LCP again", "load ok", "elements ok")
    rows = []
    for result in results:
        passed = result.passed
        rows.append(
            (
                result.path,
                f"{result.elements:,}",
                f"{_median(result.first, 'transferred') / 1024:,.0f}",
                f"{result.load:,.0f}",
                f"{_median(result.first, 'paint'):,.0f}",
                f"{_median(result.again, 'transferred') / 1024:,.0f}",
                f"{_median(result.again, 'load'):,.0f}",
                f"{_median(result.again, 'paint'):,.0f}",
                "PASS" if passed["load"] else "MISS",
                "PASS" if passed["elements"] else "MISS",
            )
        )
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def line(cells):
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    lines += [line(header), line(["-" * w for w in widths]), *[line(row) for row in rows]]
    met = sum(value for result in results for value in result.passed.values())
    lines += ["", f"Targets met: {met} of {2 * len(results)}."]
    return lines


def _median(visits, field):
    return statistics.median(getattr(visit, field) for visit in visits)
