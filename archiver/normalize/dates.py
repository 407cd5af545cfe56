"""Dates: the card's date field to a `date`, fast for the site's own format.

Nearly every card says `June 16, 2017`. Parsing that with a regular expression and a month table
costs about a microsecond, whereas `dateparser` costs a hundred or more; since a full crawl reads
~10,000 cards and a re-parse of archived pages reads them all again, the common path must not call
the general parser. `dateparser` (English only, strict, day, month and year required) is the
fallback for anything else the site may print one day.

Whatever parser answers, the result must be *grounded* in the raw string: its four-digit year, its
day and its month (by name or number) must all appear there. That rules out relative dates
("yesterday"), timestamps and two-digit years, which would invent a date the page never showed.
Only the card's date field is ever parsed; dates inside the summary are text.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import lru_cache

from archiver.normalize.text import clean_text

# Amnesty International was founded in 1961: nothing it published is older.
EARLIEST_PLAUSIBLE = date(1961, 1, 1)
# Time zones and a site clock set slightly ahead: allow two days, not more.
FUTURE_TOLERANCE = timedelta(days=2)
# The fallback parser is not worth calling on anything longer than a date with a weekday and time.
_MAX_FALLBACK_LENGTH = 64

_MONTH_NAMES = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
MONTHS: dict[str, int] = {}
for _number, _name in enumerate(_MONTH_NAMES, start=1):
    MONTHS[_name] = _number
    MONTHS[_name[:3]] = _number
MONTHS["sept"] = 9

_MONTH_DAY_YEAR_RE = re.compile(
    r"(?P<month>[A-Za-z]{3,9})\.? +(?P<day>\d{1,2})(?:, *| +)(?P<year>\d{4})", re.ASCII
)
_ISO_RE = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})(?:[T ][\d:.+Z-]*)?", re.ASCII
)


def _fast_path(text: str) -> date | bool | None:
    """A date for the site's own forms, None for an impossible one, False when not such a form."""
    if match := _MONTH_DAY_YEAR_RE.fullmatch(text):
        month = MONTHS.get(match["month"].lower())
        if month is None:
            return False
    elif match := _ISO_RE.fullmatch(text):
        month = int(match["month"])
    else:
        return False
    try:
        return date(int(match["year"]), month, int(match["day"]))
    except ValueError:
        return None  # `February 30, 2017`: the site's format, but no such day


def _number_in(number: int, text: str) -> bool:
    return re.search(rf"(?<!\d)0?{number}(?!\d)", text) is not None


def is_grounded(parsed: date, raw: str) -> bool:
    """Whether the year, month and day of `parsed` are all written in `raw`.

    >>> is_grounded(date(2020, 3, 17), "Tuesday, March 17, 2020")
    True
    >>> is_grounded(date(2017, 6, 5), "Jun 5 17")
    False
    """
    lowered = raw.lower()
    if str(parsed.year) not in lowered or not _number_in(parsed.day, lowered):
        return False
    month_name = date(2000, parsed.month, 1).strftime("%B").lower()
    return month_name[:3] in lowered or _number_in(parsed.month, lowered)


@lru_cache(maxsize=4096)
def _fallback(text: str) -> date | None:
    """`dateparser` in its strictest mode; cached because a rare format tends to repeat."""
    if len(text) > _MAX_FALLBACK_LENGTH or not any(char.isdigit() for char in text):
        return None
    import dateparser  # imported late: slow to load and never needed on the common path

    settings = {
        "STRICT_PARSING": True,
        "REQUIRE_PARTS": ["day", "month", "year"],
        "DATE_ORDER": "MDY",  # a US site: 12/11/2016 is December 11
        "PARSERS": ["custom-formats", "absolute-time"],  # no "3 days ago", no timestamps
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    try:
        parsed = dateparser.parse(text, languages=["en"], settings=settings)
    except Exception:  # arbitrary page text must never stop a crawl
        return None
    if parsed is None:
        return None
    result = parsed.date()
    return result if is_grounded(result, text) else None


def parse_date(raw: str | None) -> date | None:
    """The date a card's date field shows, or None when it shows none.

    >>> parse_date("June 16, 2017"), parse_date("Jun. 05, 2017"), parse_date("2017-06-16")
    (datetime.date(2017, 6, 16), datetime.date(2017, 6, 5), datetime.date(2017, 6, 16))
    >>> parse_date("Friday, 16 June 2017")
    datetime.date(2017, 6, 16)
    >>> parse_date("February 30, 2017") is None, parse_date("yesterday") is None
    (True, True)
    """
    if not raw:
        return None
    fast = _fast_path(raw.strip())
    if fast is False:
        text = clean_text(raw)
        fast = _fast_path(text)
        if fast is False:
            return _fallback(text)
    return fast


def is_plausible(published_on: date, today: date) -> bool:
    """Whether a release could carry this date: not before 1961, at most two days ahead.

    >>> today = date(2024, 1, 1)
    >>> is_plausible(date(2017, 6, 16), today), is_plausible(date(1960, 12, 31), today)
    (True, False)
    >>> is_plausible(date(2024, 1, 3), today), is_plausible(date(2024, 1, 4), today)
    (True, False)
    """
    return EARLIEST_PLAUSIBLE <= published_on <= today + FUTURE_TOLERANCE
