"""End to end: how fast the full archiver crawls compared with plain Scrapy, in the same run.

    .venv/bin/python benchmarks/bench_crawl.py [--releases 10000] [--repeats 5] [--quick]

One local site (benchmarks/sitegen.py: the demo dataset scaled to `--releases` releases, 10 per
listing page, served from memory by its own process on 127.0.0.1) is crawled, in rounds of three,

- (a) `lean`: `benchmarks/lean_spider.py`, a plain Scrapy spider with its own ten-line parsel
  `parse` and no archiver import at all, yielding dicts into a JSONL feed: the reference the
  archiver is held to, which no refactor of the archiver can move;
- (b) `bare`: `benchmarks/bare_spider.py`, the same plain Scrapy but with the archiver's own
  extractor (`extract_listing`): what the archiver's pipelines and extensions cost on their own;
- (c) `archiver`: the `archiver crawl amnestyusa` command itself: the real spider with every
  middleware, pipeline and extension `archiver.settings` enables (normalise, validate, store,
  WARC page archive, conditional requests, status file), into a fresh SQLite file, its numbers
  read from `--stats-file`;

with the same speed-deciding settings (`crawlsettings.CRAWL_SETTINGS`, given to the archiver as
`-s NAME=VALUE`). Each crawl is its own process: `os.wait4` gives its peak RSS (for the
archiver, the larger of the command and the crawl process it waits for, i.e. the crawl's),
`crawlclock.py` the crawl's own CPU time and the moments the spider opened and closed. Rates use
Scrapy's `elapsed_time_seconds` (spider opened to closed: every page, item and store flush);
"start-up" is from launching the process to the spider opening (interpreter, imports, settings,
for the archiver its second process and the schema creation), "wall" the whole process. The
machine is shared and noisy, hence several rounds, medians, and ratios taken within a round
(each archiver crawl against the lean and the bare crawl just before it). Targets, against the
lean spider: archiver pages/s >= 0.85 x lean pages/s (the chained listing makes the crawl
CPU-bound, so the CPU-per-page ratio must agree) and start-up at most 1.0 s longer.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from crawlsettings import CRAWL_SETTINGS  # noqa: E402

from archiver.settings import EXTENSIONS as ARCHIVER_EXTENSIONS  # noqa: E402

TARGET_RATIO = 0.85
TARGET_STARTUP_DELTA = 1.0  # seconds the archiver's start-up may exceed the lean spider's
QUICK_RELEASES = 1_000
CRAWL_TIMEOUT = 300.0
KINDS = ("lean", "bare", "archiver")  # the order of a round; each baseline just before the archiver


@dataclass(slots=True)
class CrawlRun:
    """One crawl as measured from outside (rusage) and inside (Scrapy stats)."""

    kind: str  # one of KINDS
    pages: int
    items: int
    crawl_seconds: float  # Scrapy's elapsed_time_seconds
    crawl_cpu_seconds: float  # CPU of the crawl process over the same span (crawlclock.py)
    wall_seconds: float  # the whole process, start-up included
    startup_seconds: float  # process launched -> spider opened (crawlclock.py's bench/opened_at)
    peak_rss_mb: float
    stored: int | None = None  # releases the archiver wrote (None for the baselines)

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.crawl_seconds

    @property
    def items_per_second(self) -> float:
        return self.items / self.crawl_seconds

    @property
    def cpu_ms_per_page(self) -> float:
        return 1000 * self.crawl_cpu_seconds / self.pages

    @property
    def exit_seconds(self) -> float:
        """Spider closed -> process ended: feed/store closing, stats written, interpreter exit."""
        return self.wall_seconds - self.startup_seconds - self.crawl_seconds


class BenchmarkError(RuntimeError):
    """A crawl or the server did not do what the benchmark needs (the numbers would lie)."""


# ------------------------------------------------------------------ processes -----------------


@dataclass(slots=True)
class Measured:
    """One process as seen from outside."""

    code: int  # exit status
    wall_seconds: float
    peak_rss_mb: float  # of its process tree
    launched_at: float  # time.time() just before it was started (crawlclock.py uses the same)

    def startup_seconds(self, stats: dict[str, Any]) -> float:
        """From launching the process to its spider opening (crawlclock's `bench/opened_at`)."""
        return float(stats["bench/opened_at"]) - self.launched_at


def _run_measured(
    command: list[str], log: Path, timeout: float, env: dict[str, str] | None = None
) -> Measured:
    """Run `command` and measure it: exit status, wall s, peak RSS MB of its process tree.

    `os.wait4` reports this child alone (with the descendants it waited for), so maxima of
    earlier runs never mix in, as they would with getrusage(RUSAGE_CHILDREN).
    """
    launched_at = time.time()
    started = time.perf_counter()
    with open(log, "wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
    timer = threading.Timer(timeout, process.kill)
    timer.start()
    try:
        _, status, usage = os.wait4(process.pid, 0)
    finally:
        timer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)  # already reaped: tell Popen
    wall = time.perf_counter() - started
    # ru_maxrss is in KiB on Linux
    return Measured(process.returncode, wall, usage.ru_maxrss / 1024, launched_at)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}


# The baselines: (script, stat counting the listing pages it parsed).
BASELINES = {
    "lean": ("lean_spider.py", "lean/listing_pages"),
    "bare": ("bare_spider.py", "bare/listing_pages"),
}


def crawl_baseline(kind: str, url: str, work: Path, index: int, expected_items: int) -> CrawlRun:
    """Crawl (a) or (b): a plain Scrapy script (`BASELINES[kind]`) into a JSONL feed."""
    script, pages_stat = BASELINES[kind]
    name = f"{kind}-{index}"
    feed, stats_file = work / f"{name}.jsonl", work / f"{name}.stats.json"
    stats_file.unlink(missing_ok=True)  # a kept folder may hold an earlier run's
    command = [sys.executable, str(BENCH_DIR / script), url, "--feed", str(feed)]
    command += ["--stats-file", str(stats_file), "--log-file", str(work / f"{name}.log")]
    measured = _run_measured(command, work / f"{name}.out", CRAWL_TIMEOUT)
    stats = _read_json(stats_file)
    items = 0
    if feed.exists():  # a crawl that failed early wrote none: report it, do not crash here
        with feed.open("rb") as lines:
            items = sum(1 for _ in lines)
    if measured.code != 0 or items != expected_items:
        raise BenchmarkError(
            f"{kind} crawl {index} ended with {measured.code}, {items} items "
            f"(expected {expected_items}); see {work}"
        )
    return CrawlRun(
        kind,
        pages=int(stats[pages_stat]),
        items=items,
        crawl_seconds=float(stats["elapsed_time_seconds"]),
        crawl_cpu_seconds=float(stats["bench/cpu_seconds"]),
        wall_seconds=measured.wall_seconds,
        startup_seconds=measured.startup_seconds(stats),
        peak_rss_mb=measured.peak_rss_mb,
    )


def archiver_command(
    url: str, db_url: str, data_dir: Path, stats_file: Path, extra: dict[str, str] | None = None
) -> list[str]:
    """`archiver crawl` as a user types it, with the benchmark's speed settings as `-s`.

    `-s EXTENSIONS=...` replaces the project's dict, so the archiver's own extensions are named
    again next to the crawl clock.
    """
    extensions = {**ARCHIVER_EXTENSIONS, **CRAWL_SETTINGS["EXTENSIONS"]}
    settings = {**CRAWL_SETTINGS, "EXTENSIONS": extensions, **(extra or {})}
    command = [sys.executable, "-m", "archiver", "crawl", "amnestyusa", "-a", f"base_url={url}"]
    command += ["--db", db_url, "--data-dir", str(data_dir), "--stats-file", str(stats_file)]
    for name, value in settings.items():
        command += ["-s", f"{name}={json.dumps(value) if isinstance(value, dict) else value}"]
    return command


def crawl_archiver(
    url: str, work: Path, index: int, expected_items: int, extra: dict[str, str] | None = None
) -> CrawlRun:
    """Crawl (c): `archiver crawl` with every pipeline, into a fresh SQLite database."""
    stats_file = work / f"archiver-{index}.stats.json"
    # A fresh database and data folder every time (a kept folder may hold an earlier run's).
    for leftover in work.glob(f"archiver-{index}.db*"):
        leftover.unlink()
    shutil.rmtree(work / f"archiver-{index}-data", ignore_errors=True)
    stats_file.unlink(missing_ok=True)
    db_url = f"sqlite:///{work / f'archiver-{index}.db'}"
    command = archiver_command(url, db_url, work / f"archiver-{index}-data", stats_file, extra)
    # The crawl process imports benchmarks/crawlclock.py; it inherits this environment.
    path = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": str(BENCH_DIR) + (os.pathsep + path if path else "")}
    measured = _run_measured(command, work / f"archiver-{index}.out", CRAWL_TIMEOUT, env)
    result = _read_json(stats_file)
    stats = result.get("stats", {})
    # Every card the spider yielded went through the pipelines: stored, or refused and kept.
    items = int(stats.get("item_scraped_count", 0)) + int(stats.get("item_dropped_count", 0))
    if measured.code != 0 or items != expected_items:
        raise BenchmarkError(
            f"archiver crawl {index} ended with {measured.code} ({result.get('outcome', '')}), "
            f"{items} items (expected {expected_items}); see {work / f'archiver-{index}.out'}"
        )
    return CrawlRun(
        "archiver",
        pages=int(stats["archiver/listing_pages"]),
        items=items,
        crawl_seconds=float(stats["elapsed_time_seconds"]),
        crawl_cpu_seconds=float(stats["bench/cpu_seconds"]),
        wall_seconds=measured.wall_seconds,
        startup_seconds=measured.startup_seconds(stats),
        peak_rss_mb=measured.peak_rss_mb,
        stored=int(stats.get("archiver/store/new", 0)),
    )


# What every kind of crawl imports, loaded once before the first round (not measured).
WARM_UP_IMPORTS = (
    "import scrapy.crawler, parsel, archiver.cli.crawl, archiver.process.worker, "
    "spiders.amnestyusa, pipelines.store, archiver.crawler.warc"
)


def warm_up() -> None:
    """Import the crawls' modules once, untimed, so that the first round's first crawl (always
    the lean one) does not alone pay for a cold page cache or for compiling `.pyc` files,
    which would lengthen its start-up and flatter the archiver's start-up difference."""
    subprocess.run([sys.executable, "-c", WARM_UP_IMPORTS], check=True)


class SiteServer:
    """benchmarks/sitegen.py serving in its own process; a context manager."""

    def __init__(self, releases: int) -> None:
        self.releases = releases
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> SiteServer:
        command = [sys.executable, str(BENCH_DIR / "sitegen.py"), "serve"]
        command += ["--releases", str(self.releases)]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("listening "):
            self.__exit__()
            raise BenchmarkError(f"the site server did not start: {line!r}")
        self.url = line.split()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            if self.process.stdout is not None:
                self.process.stdout.close()

    def capacity(self, seconds: float) -> float:
        """Requests/s the server answers on one keep-alive connection (a crawl uses one)."""
        command = [sys.executable, str(BENCH_DIR / "sitegen.py"), "load", self.url]
        command += ["--seconds", str(seconds), "--connections", "1"]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        return float(output.split()[0])


# ------------------------------------------------------------------ report --------------------


def _median(runs: list[CrawlRun], attribute: str) -> float:
    return statistics.median(getattr(run, attribute) for run in runs)


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for number, row in enumerate(rows):
        cells = [
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells))
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


@dataclass(slots=True)
class Comparison:
    """One crawl kind against a baseline kind: medians of the ratios taken round by round.

    The load of a shared machine drifts over minutes, and a ratio of neighbours (crawls of the
    same round) cancels most of the drift. Every ratio but `wall` is "higher is better".
    """

    kind: str
    baseline: str
    rounds: int
    pages_ratio: float  # kind pages/s / baseline pages/s
    cpu_ratio: float  # baseline CPU ms/page / kind CPU ms/page
    wall: float  # kind wall s / baseline wall s: "takes N x its wall time", start-up included
    startup_delta: float  # kind start-up s - baseline start-up s

    @property
    def per_page_passed(self) -> bool:
        # The crawl is CPU-bound (one request in flight), so on a quiet machine pages/s follows
        # CPU per page; when the two disagree the machine was busy, and only both passing counts.
        return min(self.pages_ratio, self.cpu_ratio) >= TARGET_RATIO


def rounds_of(runs: list[CrawlRun]) -> list[dict[str, CrawlRun]]:
    """`runs` (in the order run: lean, bare, archiver, lean, ...) as one mapping per round."""
    count = len(KINDS)
    if len(runs) % count or any(run.kind != KINDS[i % count] for i, run in enumerate(runs)):
        raise ValueError(f"runs must come in rounds of {KINDS}: {[run.kind for run in runs]}")
    return [{run.kind: run for run in runs[i : i + count]} for i in range(0, len(runs), count)]


def compare(rounds: list[dict[str, CrawlRun]], kind: str, baseline: str) -> Comparison:
    """`kind` against `baseline`, each ratio the median of the rounds' own ratios."""
    pairs = [(one[baseline], one[kind]) for one in rounds]
    return Comparison(
        kind=kind,
        baseline=baseline,
        rounds=len(pairs),
        pages_ratio=statistics.median(b.pages_per_second / a.pages_per_second for a, b in pairs),
        cpu_ratio=statistics.median(a.cpu_ms_per_page / b.cpu_ms_per_page for a, b in pairs),
        wall=statistics.median(b.wall_seconds / a.wall_seconds for a, b in pairs),
        startup_delta=statistics.median(b.startup_seconds - a.startup_seconds for a, b in pairs),
    )


MEDIAN_FIELDS = (
    "pages_per_second",
    "items_per_second",
    "cpu_ms_per_page",
    "startup_seconds",
    "crawl_seconds",
    "exit_seconds",
    "wall_seconds",
    "peak_rss_mb",
)


def bench_results(
    medians: dict[str, dict[str, float]], lean: Comparison, bare: Comparison, releases: int
) -> list[dict[str, Any]]:
    """The BENCH-RESULT records (benchmarks/run_all.py's protocol), the headline first.

    1. `crawl`: archiver vs lean, per page (the architecture target, 0.85);
    2. `crawl-vs-bare`: archiver vs bare, per page (what the pipelines cost, same target);
    3. `crawl-startup`: archiver vs lean start-up seconds; the target is a difference (at most
       +1.0 s), not a ratio, so `ratio`/`target` are null and `passed` is given;
    4. `crawl-wall`: the whole process, start-up included, as releases per wall second (a rate,
       so higher is better); no target of its own (it follows from the two above).
    Keys beyond the protocol (`cpu_ratio`, `delta`, ...) are ignored by run_all.py.
    """
    archiver = medians["archiver"]
    results: list[dict[str, Any]] = []
    for name, comparison in (("crawl", lean), ("crawl-vs-bare", bare)):
        results.append(
            {
                "name": name,
                "metric": f"archiver pages/s vs {comparison.baseline} Scrapy",
                "value": round(archiver["pages_per_second"], 1),
                "baseline": round(medians[comparison.baseline]["pages_per_second"], 1),
                "ratio": round(comparison.pages_ratio, 3),
                "target": TARGET_RATIO,
                "passed": comparison.per_page_passed,
                "cpu_ratio": round(comparison.cpu_ratio, 3),
            }
        )
    results.append(
        {
            "name": "crawl-startup",
            "metric": f"archiver start-up s vs lean (at most +{TARGET_STARTUP_DELTA:.1f} s)",
            "value": round(archiver["startup_seconds"], 2),
            "baseline": round(medians["lean"]["startup_seconds"], 2),
            "ratio": None,
            "target": None,
            "passed": lean.startup_delta <= TARGET_STARTUP_DELTA,
            "delta": round(lean.startup_delta, 2),
        }
    )
    results.append(
        {
            "name": "crawl-wall",
            "metric": "archiver releases per wall s (start-up included) vs lean",
            "value": round(releases / archiver["wall_seconds"], 1),
            "baseline": round(releases / medians["lean"]["wall_seconds"], 1),
            "ratio": round(1 / lean.wall, 3),
            "target": None,
            "passed": None,
            "wall_times": round(lean.wall, 2),
        }
    )
    return results


def report(
    runs: list[CrawlRun], server_rate: float, pages: int, releases: int
) -> list[dict[str, Any]]:
    """Print every run, the medians, the comparisons and the verdict; returns the records."""
    header = ["run", "pages/s", "items/s", "start-up s", "crawl s", "exit s", "wall s"]
    rows = [[*header, "CPU ms/page", "peak RSS MB"]]
    for run in runs:
        rows.append(
            [
                run.kind,
                f"{run.pages_per_second:.1f}",
                f"{run.items_per_second:.0f}",
                f"{run.startup_seconds:.2f}",
                f"{run.crawl_seconds:.2f}",
                f"{run.exit_seconds:.2f}",
                f"{run.wall_seconds:.2f}",
                f"{run.cpu_ms_per_page:.2f}",
                f"{run.peak_rss_mb:.0f}",
            ]
        )
    print("\nevery run, in the order run (start-up: launch -> spider opened; exit: closed -> end):")
    print(_table(rows))

    rounds = rounds_of(runs)
    medians = {
        kind: {name: _median([one[kind] for one in rounds], name) for name in MEDIAN_FIELDS}
        for kind in KINDS
    }
    titles = {
        "lean": "lean Scrapy + JSONL",
        "bare": "bare Scrapy + JSONL",
        "archiver": "archiver + SQLite",
    }
    rows = [["median of " + str(len(rounds)), "pages/s", "items/s", "CPU ms/page"]]
    rows[0] += ["start-up s", "crawl s", "exit s", "wall s", "peak RSS MB"]
    for kind in KINDS:
        values = medians[kind]
        rows.append(
            [
                titles[kind],
                f"{values['pages_per_second']:.1f}",
                f"{values['items_per_second']:.0f}",
                f"{values['cpu_ms_per_page']:.2f}",
                f"{values['startup_seconds']:.2f}",
                f"{values['crawl_seconds']:.2f}",
                f"{values['exit_seconds']:.2f}",
                f"{values['wall_seconds']:.2f}",
                f"{values['peak_rss_mb']:.0f}",
            ]
        )
    print(f"\n{pages:,} listing pages, {releases:,} cards; medians:")
    print(_table(rows))

    lean = compare(rounds, "archiver", "lean")
    bare = compare(rounds, "archiver", "bare")
    extractor = compare(rounds, "bare", "lean")
    rows = [["ratios (median of rounds)", "pages/s", "CPU/page", "wall x", "start-up +s"]]
    for comparison in (lean, bare, extractor):
        rows.append(
            [
                f"{comparison.kind} vs {comparison.baseline}",
                f"{comparison.pages_ratio:.2f}",
                f"{comparison.cpu_ratio:.2f}",
                f"{comparison.wall:.2f}",
                f"{comparison.startup_delta:+.2f}",
            ]
        )
    print(
        "\nper page: pages/s and CPU/page as rates (1.00 = as fast as the baseline, higher is "
        "better);\nwall x: how many times the baseline's wall time, start-up included; "
        "start-up +s: seconds more before the spider opens:"
    )
    print(_table(rows))
    fastest = max(run.pages_per_second for run in runs)
    print(
        f"\nserver: {server_rate:,.0f} req/s on one keep-alive connection, "
        f"{server_rate / fastest:.0f}x the fastest crawl ({fastest:.0f} pages/s): "
        "not the bottleneck"
    )
    results = bench_results(medians, lean, bare, releases)
    for comparison in (lean, bare):
        verdict = "PASS" if comparison.per_page_passed else "FAIL"
        print(
            f"verdict: archiver / {comparison.baseline} = {comparison.pages_ratio:.2f} by pages/s,"
            f" {comparison.cpu_ratio:.2f} by CPU per page (target >= {TARGET_RATIO} for both): "
            f"{verdict}"
        )
    verdict = "PASS" if lean.startup_delta <= TARGET_STARTUP_DELTA else "FAIL"
    print(
        f"verdict: archiver start-up - lean start-up = {lean.startup_delta:+.2f} s "
        f"(target <= +{TARGET_STARTUP_DELTA:.1f} s): {verdict}"
    )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--releases", type=int, help="releases on the site (10 per page)")
    parser.add_argument("--repeats", type=int, help="rounds (a crawl of each kind, alternating)")
    parser.add_argument(
        "--quick",
        action="store_true",
        default=os.environ.get("ARCHIVER_BENCH_QUICK") == "1",
        help=f"smoke run: {QUICK_RELEASES:,} releases, one round (or ARCHIVER_BENCH_QUICK=1)",
    )
    parser.add_argument("--keep", type=Path, help="keep feeds, databases and logs in this folder")
    parser.add_argument(
        "--archiver-set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra Scrapy setting for the archiver's crawls only, to try a fix before making it "
        "(shown in the output; a real comparison uses none)",
    )
    options = parser.parse_args(argv)
    extra = dict(pair.split("=", 1) for pair in options.archiver_set)

    releases = options.releases or (QUICK_RELEASES if options.quick else 10_000)
    repeats = options.repeats or (1 if options.quick else 5)
    pages = math.ceil(releases / 10)
    print(
        f"crawl benchmark: {pages:,} listing pages x 10 cards, {repeats} round(s) of "
        f"{', '.join(KINDS)}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    )
    if extra:
        print(f"archiver crawls with extra settings (an experiment, not as shipped): {extra}")
    with tempfile.TemporaryDirectory(prefix="bench-crawl-") as tmp, SiteServer(releases) as site:
        work = options.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        server_rate = site.capacity(1.0 if options.quick else 2.0)
        warm_up()
        runs: list[CrawlRun] = []
        try:
            for index in range(repeats):
                for kind in KINDS:
                    if kind == "archiver":
                        run = crawl_archiver(site.url, work, index, releases, extra)
                    else:
                        run = crawl_baseline(kind, site.url, work, index, releases)
                    runs.append(run)
                    print(
                        f"  {kind:<8} #{index + 1}: {run.pages_per_second:6.1f} pages/s "
                        f"({run.startup_seconds:.1f} s start-up, {run.crawl_seconds:.1f} s crawl, "
                        f"{run.wall_seconds:.1f} s wall)",
                        flush=True,
                    )
        except BenchmarkError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        results = report(runs, server_rate, pages, releases)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(benchmark driver itself: {own:.0f} MB peak)")
    for result in results:  # the headline (archiver vs lean, per page) first
        print("BENCH-RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
