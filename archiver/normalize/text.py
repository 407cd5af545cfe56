"""Text cleaning shared by every field: markup out, Unicode NFC, whitespace collapsed.

Raw fields are already text (parsel decoded entities and dropped real tags), but WordPress leaves
literal `&#8217;`, `&amp;` or `<em>` inside titles and summaries now and then. Removing them once is
not enough (`&amp;lt;` becomes `&lt;`), so `clean_text` repeats its steps until nothing changes:
that makes it idempotent, which the pipelines rely on when an item is normalised twice.
"""

from __future__ import annotations

import re
import unicodedata

from w3lib.html import remove_tags, replace_entities

# Control characters other than whitespace (PostgreSQL refuses NUL in text) and zero-width
# spaces and BOMs, which editors leave inside words as line-break hints: removed, not spaced.
_INVISIBLE_RE = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x9f\u200b\u2060\ufeff]")
# Block-level tags separate words; inline ones (`<em>`) must not add a space inside a word.
_BLOCK_TAG_RE = re.compile(r"<\s*/?\s*(?:br|p|div|li|ul|ol|h[1-6]|tr|td|th)\b[^<>]*>", re.I)
_MAX_ROUNDS = 20


def collapse_whitespace(text: str) -> str:
    """Every run of whitespace (no-break and thin spaces too) becomes one space.

    >>> collapse_whitespace("  Syria:\\u00a0 war\\ncrimes\\u2009 ")
    'Syria: war crimes'
    """
    # `str.split()` splits on exactly what `\s` matches in a str pattern (Py_UNICODE_ISSPACE),
    # at a quarter of the cost of `re.sub(r"\s+", " ", text).strip()`; a property test
    # holds the two to each other.
    return " ".join(text.split())


def strip_markup(text: str) -> str:
    """Tags, entities and invisible characters removed, once (`clean_text` repeats it).

    Unknown entities (`AT&T`, `&bogus;`) are kept as written: they are text, not markup.

    >>> strip_markup("Syria&#8217;s <em>war</em>&nbsp;crimes<br>AT&T\\u200b")
    'Syria’s war\\xa0crimes AT&T'
    """
    if "<" in text:
        text = remove_tags(_BLOCK_TAG_RE.sub(" ", text))
    if "&" in text:
        text = replace_entities(text, remove_illegal=False)
    # Every character the pattern removes is a control or format character, which
    # `isprintable` (a C loop) refuses: most titles and summaries skip the regex scan.
    return text if text.isprintable() else _INVISIBLE_RE.sub("", text)


def clean_text(text: str | None) -> str:
    """Markup removed, NFC, whitespace collapsed and trimmed, repeated until stable.

    Curly quotes, dashes, accents and `#` are text and stay.

    >>> clean_text("  &amp;lt;b&amp;gt;Caf\\u0065\\u0301 \\u201cquoted\\u201d \\u2013 #Syria  ")
    'Café “quoted” – #Syria'
    >>> clean_text(None)
    ''
    """
    if not text:
        return ""
    for _ in range(_MAX_ROUNDS):
        cleaned = collapse_whitespace(strip_markup(unicodedata.normalize("NFC", text)))
        if cleaned == text or _is_clean(cleaned):
            return cleaned
        text = cleaned
    return text


def _is_clean(text: str) -> bool:
    """Whether another round of `clean_text` would return `text` (a round's output) unchanged.

    A round leaves no invisible characters and collapsed whitespace; with no `<` or `&` left,
    `strip_markup` has nothing to remove, so only NFC could still change it (removing markup
    can bring a base letter and a combining mark together).
    """
    return "<" not in text and "&" not in text and unicodedata.is_normalized("NFC", text)
