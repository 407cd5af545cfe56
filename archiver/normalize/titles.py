"""Titles: clean text, nothing more.

A leading `Report:` or `Urgent Action:` is part of the title on this site, not its type, so it is
kept; curly quotes, dashes, accents and `#hashtags` are kept too. Trailing spaces the site leaves
after a title go with the whitespace collapse.
"""

from __future__ import annotations

from archiver.normalize.text import clean_text


def normalize_title(raw: str | None) -> str:
    """The title as a reader sees it, on one line.

    >>> normalize_title("Report: Syria&#8217;s  \\u201cdisappeared\\u201d\\u00a0#FreeThemAll   ")
    'Report: Syria’s “disappeared” #FreeThemAll'
    >>> normalize_title("<em>Urgent Action:</em> Ra\\u0301mi")
    'Urgent Action: Rámi'
    """
    return clean_text(raw)
