"""Every `ARCHIVER_*` Scrapy setting, declared once: name, default, type and a one-line meaning.

`archiver/settings.py` hands these defaults to Scrapy, components read their values through
`setting()` (so a crawler built without the project settings, as in tests, still gets the same
defaults), `docs/settings.md` is checked against this table by a test, and `closest_name()` turns
a mistyped `-s` name into a warning that names what was probably meant. Pure.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from archiver.errors import ArgumentError


@dataclass(frozen=True, slots=True)
class Setting:
    """One archiver setting."""

    name: str
    default: Any
    kind: str  # bool, int, float, str, choice (see `choices`), json (dict or JSON text), auto_bool
    meaning: str
    area: str
    choices: tuple[str, ...] = ()


MB = 1024 * 1024

SETTINGS: tuple[Setting, ...] = (
    # -- where things go --------------------------------------------------------------------
    Setting(
        "ARCHIVER_DATABASE_URL",
        None,
        "str",
        "database to store into (also `--db` and the environment variable);"
        " default sqlite:///<data dir>/archive.db",
        "storage",
    ),
    Setting(
        "ARCHIVER_DATA_DIR",
        None,
        "str",
        "folder for logs, exports, archived pages and the default database (also the"
        " environment variable); default ./data",
        "storage",
    ),
    Setting(
        "ARCHIVER_CONTACT_URL",
        "https://github.com/archiver-project/archiver",
        "str",
        "contact URL sent in the User-Agent, so site operators can reach you (also the"
        " environment variable, as a Scrapyd node sets it)",
        "crawl",
    ),
    # -- store ----------------------------------------------------------------------------------
    Setting(
        "ARCHIVER_STORE_ENABLED",
        True,
        "bool",
        "store into the database (0: feed output only, no run record)",
        "storage",
    ),
    Setting(
        "ARCHIVER_STORE_BATCH_SIZE",
        500,
        "int",
        "items written per transaction",
        "storage",
    ),
    Setting(
        "ARCHIVER_STORE_FLUSH_INTERVAL",
        5.0,
        "float",
        "seconds between flushes of a partial batch (and run heartbeats); 0: only full batches",
        "storage",
    ),
    Setting(
        "ARCHIVER_TRIGGER",
        "manual",
        "str",
        "recorded as crawl_runs.trigger: `manual`, `reparse` or the schedule's name",
        "storage",
    ),
    Setting(
        "ARCHIVER_RUN_ARGUMENTS",
        None,
        "json",
        "the spider arguments to record with the run (dict or JSON); default: the spider's own",
        "storage",
    ),
    # -- quarantine -----------------------------------------------------------------------------
    Setting(
        "ARCHIVER_QUARANTINE_JSONL",
        None,
        "auto_bool",
        "also append refused items to a JSONL file; unset: only when the store is off",
        "quarantine",
    ),
    Setting(
        "ARCHIVER_QUARANTINE_FILE",
        None,
        "str",
        "the JSONL quarantine file; default <data dir>/quarantine.jsonl",
        "quarantine",
    ),
    # -- incremental crawls ---------------------------------------------------------------------
    Setting(
        "ARCHIVER_INCREMENTAL",
        "auto",
        "choice",
        "auto, on or off (also `-a incremental=`, `--full`): stop at the first page with nothing"
        " new or edited once the listing was read completely",
        "incremental",
        choices=("auto", "on", "off"),
    ),
    Setting(
        "ARCHIVER_INCREMENTAL_PAGES",
        1,
        "int",
        "unchanged pages in a row before an incremental crawl stops",
        "incremental",
    ),
    Setting(
        "ARCHIVER_CONDITIONAL_REQUESTS",
        True,
        "bool",
        "send stored ETag / Last-Modified on incremental runs (a 304 is an unchanged page)",
        "incremental",
    ),
    # -- raw page archive -----------------------------------------------------------------------
    Setting(
        "ARCHIVER_WARC_ENABLED",
        True,
        "bool",
        "keep every listing page fetched in WARC files",
        "warc",
    ),
    Setting(
        "ARCHIVER_WARC_DIR",
        None,
        "str",
        "folder of the WARC files; default <data dir>/warc",
        "warc",
    ),
    Setting(
        "ARCHIVER_WARC_MAX_BYTES",
        100 * MB,
        "int",
        "size at which a WARC file rotates",
        "warc",
    ),
    Setting(
        "ARCHIVER_WARC_INDEX_BATCH",
        100,
        "int",
        "archived pages indexed per transaction",
        "warc",
    ),
    Setting(
        "ARCHIVER_WARC_INDEX_INTERVAL",
        5.0,
        "float",
        "seconds between index flushes of a partial batch; 0: only full batches",
        "warc",
    ),
    # -- extraction -----------------------------------------------------------------------------
    Setting(
        "ARCHIVER_EXTRACT_LAYOUTS",
        None,
        "str",
        "layouts to read pages with instead of the shipped ones, in crawls and `archiver"
        " reparse`: a .toml file, or the import path of a tuple of archiver.extract.Layout"
        " (docs/extraction.md)",
        "extract",
    ),
    Setting(
        "ARCHIVER_STRUCTURAL_FALLBACK",
        True,
        "bool",
        "read a page no known layout matches by structure (layout fallback, exit 7); 0: such a"
        " page gives no card (exit 3)",
        "extract",
    ),
    # -- release pages (full text) ---------------------------------------------------------------
    Setting(
        "ARCHIVER_DETAILS",
        False,
        "bool",
        "also read the page of every release that is new, edited on the listing, never read, or"
        " whose last read failed (also `--details`)",
        "details",
    ),
    Setting(
        "ARCHIVER_DETAILS_BATCH",
        50,
        "int",
        "release pages written to the archive per transaction",
        "details",
    ),
    # -- scheduler ------------------------------------------------------------------------------
    Setting(
        "ARCHIVER_NOTIFY_NEW",
        False,
        "bool",
        "a schedule's setting (`schedule add --notify-new`): after each run, `archiver scheduler"
        " --notify` sends the titles and links of the releases it found new",
        "scheduler",
    ),
    Setting(
        "ARCHIVER_NODE",
        None,
        "str",
        "the Scrapyd node a crawl runs on, recorded as crawl_runs.node (set by `archiver"
        " scheduler --scrapyd` on the jobs it sends; docs/scale-out.md)",
        "scheduler",
    ),
    # -- process --------------------------------------------------------------------------------
    Setting(
        "ARCHIVER_STATUS_FILE",
        None,
        "str",
        "JSON file the crawl keeps its live counters in (set by `archiver crawl` for its"
        " progress display)",
        "process",
    ),
    Setting(
        "ARCHIVER_STATUS_INTERVAL",
        0.5,
        "float",
        "seconds between writes of the status file",
        "process",
    ),
)

BY_NAME: dict[str, Setting] = {spec.name: spec for spec in SETTINGS}


def defaults() -> dict[str, Any]:
    """`{name: default}` for every archiver setting (what archiver/settings.py gives Scrapy)."""
    return {spec.name: spec.default for spec in SETTINGS}


def setting(settings: Any, name: str) -> Any:
    """The value of archiver setting `name` in Scrapy `settings`, typed, else its default."""
    spec = BY_NAME[name]
    if spec.kind == "bool":
        return settings.getbool(name, spec.default)
    if spec.kind == "int":
        return settings.getint(name, spec.default)
    if spec.kind == "float":
        return settings.getfloat(name, spec.default)
    if spec.kind == "auto_bool":
        return None if settings.get(name) is None else settings.getbool(name)
    if spec.kind == "choice":
        return check_choice(spec, settings.get(name, spec.default))
    return settings.get(name, spec.default)


def is_on(value: object) -> bool:
    """Whether a flag given as text (a schedule's stored setting, a spider argument) is on:
    `1`, `true`, `yes` or `on` in any case, or True.

    >>> is_on("1"), is_on(" Yes "), is_on(True), is_on("off"), is_on(None), is_on("")
    (True, True, True, False, False, False)
    """
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")


def check_choice(spec: Setting, value: object) -> str:
    """A `choice` setting's value, checked; booleans (as from `-s X=1`) mean on / off.

    >>> check_choice(BY_NAME["ARCHIVER_INCREMENTAL"], "AUTO")
    'auto'
    >>> mode = BY_NAME["ARCHIVER_INCREMENTAL"]
    >>> check_choice(mode, True), check_choice(mode, "0")
    ('on', 'off')
    >>> check_choice(BY_NAME["ARCHIVER_INCREMENTAL"], "sometimes")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    archiver.errors.ArgumentError: ARCHIVER_INCREMENTAL must be one of auto, on, off, not ...
    """
    if value is None or value == "":
        return str(spec.default)
    if isinstance(value, bool):
        text = "on" if value else "off"
    else:
        text = str(value).strip().lower()
        text = {"1": "on", "true": "on", "yes": "on", "0": "off", "false": "off", "no": "off"}.get(
            text, text
        )
    if text not in spec.choices:
        raise ArgumentError(f"{spec.name} must be one of {', '.join(spec.choices)}, not {value!r}")
    return text


def closest_name(name: str, known: Iterable[str]) -> str | None:
    """The known setting a mistyped name was probably meant to be.

    >>> closest_name("DOWNLOAD_DELAI", ["DOWNLOAD_DELAY", "DOWNLOAD_TIMEOUT"])
    'DOWNLOAD_DELAY'
    >>> closest_name("NOTHING_LIKE_IT", ["DOWNLOAD_DELAY"]) is None
    True
    """
    matches = difflib.get_close_matches(name.upper(), list(known), n=1, cutoff=0.75)
    return matches[0] if matches else None


def _shown(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int) and value >= MB and value % MB == 0:
        return f"{value // MB} MB"
    return str(value)


def markdown_table() -> str:
    """The settings as the Markdown table of docs/settings.md (a test keeps them equal)."""
    lines = ["| setting | area | default | meaning |", "|---|---|---|---|"]
    for spec in SETTINGS:
        lines.append(f"| `{spec.name}` | {spec.area} | `{_shown(spec.default)}` | {spec.meaning} |")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m archiver.settings_catalog: the table for docs/settings.md
    print(markdown_table())
