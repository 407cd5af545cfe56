"""Run every benchmark (`benchmarks/bench_*.py`) and print one summary table: `make bench`.

    .venv/bin/python benchmarks/run_all.py [--quick] [--only crawl] [--strict]

Each benchmark runs as its own process (so none inherits another's memory or imports) and
prints what it likes; its output is passed through as it comes. The summary comes from the lines
in this form a benchmark prints (usually one, last; each line is a row of the summary), the
protocol:

    BENCH-RESULT {"name": "crawl", "metric": "archiver pages/s vs bare Scrapy", "value": 93.1,
                  "baseline": 101.2, "ratio": 0.92, "target": 0.85, "passed": true}

(one line of JSON after `BENCH-RESULT `). `value` is the measured figure, `baseline` what it is
compared with, `ratio` = value / baseline with higher meaning better, `target` the least
acceptable ratio, `passed` = ratio >= target; the comparison keys may be null for a benchmark
without a baseline. A target that is no ratio (seconds more than a baseline, say) is stated in
`metric`, with `ratio` and `target` null and `passed` given by the benchmark. `--quick` sets
`ARCHIVER_BENCH_QUICK=1` for every benchmark: those that honour it run smoke-sized, the others
run as usual (nothing breaks on an unknown flag).

Exit status: 1 when a benchmark crashed, timed out or printed a malformed BENCH-RESULT line
(or, with `--strict`, missed its target); 0 otherwise. A benchmark that printed no BENCH-RESULT
line gets a row saying so. Timings on a shared machine are noisy, which is
why a missed target alone does not fail `make bench`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
MARKER = "BENCH-RESULT "
KEYS = ("name", "metric", "value", "baseline", "ratio", "target", "passed")


@dataclass(slots=True)
class Outcome:
    """One benchmark script's run: its results (usually one) or why there are none."""

    script: str
    seconds: float
    results: list[dict[str, Any]]
    error: str = ""


def parse_result(line: str) -> dict[str, Any]:
    """The record of a `BENCH-RESULT {json}` line, with `passed` derived when left out.

    >>> parse_result('BENCH-RESULT {"name": "x", "value": 9, "ratio": 0.9, "target": 0.85}')
    {'name': 'x', 'metric': None, 'value': 9, 'baseline': None, 'ratio': 0.9, 'target': 0.85, \
'passed': True}
    """
    record = json.loads(line[len(MARKER) :])
    if not isinstance(record, dict):
        raise ValueError("BENCH-RESULT must carry a JSON object")
    result = {key: record.get(key) for key in KEYS}
    if result["passed"] is None and result["ratio"] is not None and result["target"] is not None:
        result["passed"] = float(result["ratio"]) >= float(result["target"])
    return result


def run_one(script: Path, env: dict[str, str], timeout: float) -> Outcome:
    """Run one benchmark, echoing its output, and collect its BENCH-RESULT lines."""
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1,
        env=env,
        cwd=BENCH_DIR.parent,
    )
    timer = threading.Timer(timeout, process.kill)
    timer.start()
    results: list[dict[str, Any]] = []
    error = ""
    assert process.stdout is not None
    try:
        for line in process.stdout:
            print(line, end="", flush=True)
            if line.startswith(MARKER):
                try:
                    results.append(parse_result(line.strip()))
                except ValueError as problem:  # json.JSONDecodeError is a ValueError
                    error = f"bad BENCH-RESULT line: {problem}"
        code = process.wait()
    finally:
        timer.cancel()
        process.stdout.close()
    seconds = time.monotonic() - started
    if code != 0:
        error = f"timed out after {timeout:.0f} s" if seconds >= timeout else f"exit {code}"
    return Outcome(script.name, seconds, results, error)


def _number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


def summary_rows(outcomes: list[Outcome]) -> list[list[str]]:
    """The summary table's rows, a header first."""
    rows = [["benchmark", "metric", "value", "baseline", "ratio", "target", "result", "time"]]
    for outcome in outcomes:
        for result in outcome.results:
            verdict = {True: "pass", False: "MISSED", None: "-"}.get(result["passed"], "?")
            rows.append(
                [
                    str(result["name"] or outcome.script),
                    str(result["metric"] or ""),
                    _number(result["value"]),
                    _number(result["baseline"]),
                    _number(result["ratio"]),
                    ">= " + _number(result["target"]) if result["target"] is not None else "-",
                    verdict,
                    f"{outcome.seconds:.0f} s",
                ]
            )
        if outcome.error or not outcome.results:
            name = outcome.script.removeprefix("bench_").removesuffix(".py")
            # A benchmark that ran but does not speak the protocol yet: see its own output.
            note = f"ERROR: {outcome.error}" if outcome.error else "no BENCH-RESULT line"
            rows.append([name, "(see its output above)", "", "", "", "", note, ""])
            rows[-1][-1] = f"{outcome.seconds:.0f} s"
    return rows


def format_table(rows: list[list[str]]) -> str:
    """Plain aligned columns (text first, numbers right-aligned), a rule under the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    numeric = {2, 3, 4, 7}
    lines = []
    for number, row in enumerate(rows):
        cells = [
            cell.rjust(width) if index in numeric else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke-sized runs where supported")
    parser.add_argument(
        "--only", action="append", default=[], metavar="NAME", help="run bench_NAME.py only"
    )
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="seconds allowed per benchmark [900]"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    options = parser.parse_args(argv)

    scripts = sorted(BENCH_DIR.glob("bench_*.py"))
    if options.only:
        wanted = {
            f"bench_{name.removeprefix('bench_').removesuffix('.py')}.py" for name in options.only
        }
        scripts = [script for script in scripts if script.name in wanted]
    if not scripts:
        print("error: no benchmark to run", file=sys.stderr)
        return 1
    env = dict(os.environ)
    if options.quick:
        env["ARCHIVER_BENCH_QUICK"] = "1"

    outcomes = []
    started = time.monotonic()
    for script in scripts:
        print(f"\n=== {script.name}{' (quick)' if options.quick else ''}", flush=True)
        outcomes.append(run_one(script, env, options.timeout))

    print(f"\n=== summary ({len(scripts)} benchmarks, {time.monotonic() - started:.0f} s)")
    print(format_table(summary_rows(outcomes)))
    errors = [outcome for outcome in outcomes if outcome.error]
    missed = [r for outcome in outcomes for r in outcome.results if r["passed"] is False]
    if errors or missed:
        print(f"{len(errors)} benchmark(s) failed to run, {len(missed)} target(s) missed")
    return 1 if errors or (options.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
