"""Summaries: clean text, Cloudflare e-mail addresses decoded, the site's own cut marker removed.

The site cuts long summaries and ends them with `…` (sometimes after spaces) or, on old pages,
`...`. That marker is not text the author wrote, so it is removed and `summary_truncated` records
that the summary is incomplete. Captions and credits are separate card fields (see `RawCard`) and
are never read here.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from archiver.normalize.text import clean_text

# `<a href="/cdn-cgi/l/email-protection" class="__cf_email__" data-cfemail="HEX">…</a>`
# The attribute order and quoting vary between page generations, so match the whole element.
_CF_EMAIL_RE = re.compile(
    r"<a\b[^<>]*?\bdata-cfemail\s*=\s*[\"']?([0-9a-fA-F]+)[\"']?[^<>]*>.*?</a\s*>",
    re.I | re.S,
)
# Cloudflare also rewrites plain links: `href="/cdn-cgi/l/email-protection#HEX"`.
_CF_HREF_RE = re.compile(
    r"<a\b[^<>]*?\bhref\s*=\s*[\"']?/cdn-cgi/l/email-protection#([0-9a-fA-F]+)[\"']?[^<>]*>"
    r"(.*?)</a\s*>",
    re.I | re.S,
)
_CUT_MARKER_RE = re.compile(r"\s*(?:…|\.\.\.)$")
_MAX_ROUNDS = 20


class Summary(NamedTuple):
    """A cleaned summary and whether the site cut it short."""

    text: str
    truncated: bool


def decode_cf_email(encoded: str) -> str | None:
    """The address Cloudflare hid in `data-cfemail`: first byte is the key, XOR every other byte.

    None when the hex is not a valid encoding (odd length, not hex, not UTF-8).

    >>> decode_cf_email("54242631272714353d2127357a3b2633")
    'press@aiusa.org'
    >>> decode_cf_email("zz") is None
    True
    """
    try:
        data = bytes.fromhex(encoded)
    except ValueError:
        return None
    if len(data) < 2:
        return None
    key = data[0]
    try:
        return bytes(byte ^ key for byte in data[1:]).decode("utf-8")
    except UnicodeDecodeError:
        return None


def _replace_cf(match: re.Match[str]) -> str:
    decoded = decode_cf_email(match.group(1))
    return decoded if decoded is not None else match.group(0)


def decode_cf_emails(html: str) -> str:
    """Every Cloudflare-obfuscated e-mail link in `html` replaced by its address.

    >>> decode_cf_emails('Write to <a href="/cdn-cgi/l/email-protection" class="__cf_email__" '
    ...                  'data-cfemail="54242631272714353d2127357a3b2633">'
    ...                  '[email&#160;protected]</a>.')
    'Write to press@aiusa.org.'
    """
    if "cfemail" not in html and "email-protection" not in html:
        return html
    html = _CF_EMAIL_RE.sub(_replace_cf, html)
    return _CF_HREF_RE.sub(_replace_cf, html)


def _without_cut_marker(text: str) -> str:
    """`_CUT_MARKER_RE.sub("", text)` without the regex, which tries every position of the
    text (a fifth of normalising a card); a property test holds the two to each other.

    `$` also matches before a final newline; `\\s*` is what `str.rstrip()` strips.
    """
    end = len(text) - 1 if text.endswith("\n") else len(text)
    body = text[:end]
    for marker in ("…", "..."):
        if body.endswith(marker):
            return body[: len(body) - len(marker)].rstrip() + text[end:]
    return text


def strip_cut_marker(text: str) -> Summary:
    """Remove the site's trailing `…`, ` …` or `...` (repeatedly, so it is idempotent).

    >>> strip_cut_marker("waiting for hours to be evacuated,\\u201d \\u2026")
    Summary(text='waiting for hours to be evacuated,”', truncated=True)
    >>> strip_cut_marker("had the following reaction:")
    Summary(text='had the following reaction:', truncated=False)
    """
    truncated = False
    while True:
        # A marker ends at the end or just before a final newline (`$`): in the last 4 chars.
        tail = text[-4:]
        if "…" not in tail and "..." not in tail:
            return Summary(text, truncated)
        stripped = _without_cut_marker(text)
        if stripped == text:
            return Summary(text, truncated)
        text, truncated = stripped, True


def normalize_summary(raw: str | None, html: str | None = None) -> Summary:
    """The summary as clean text, and whether the site cut it.

    The inner HTML is preferred when present: it still holds the Cloudflare e-mail markup that the
    text only shows as `[email protected]`.

    >>> normalize_summary("Huang  said:   \\u201cIt is shameful.  \\u2026")
    Summary(text='Huang said: “It is shameful.', truncated=True)
    >>> normalize_summary(
    ...     "Mail [email protected]",
    ...     'Mail <a data-cfemail="0f6e4f6a776e627f636a21607d68">[email&#160;protected]</a>',
    ... )
    Summary(text='Mail a@example.org', truncated=False)
    """
    text = clean_text(decode_cf_emails(html) if html and html.strip() else raw)
    truncated = False
    # Removing the marker can leave text that cleans differently (`&amp…` ends in an entity), so
    # both steps repeat until stable; each round strictly shortens the text.
    for _ in range(_MAX_ROUNDS):
        cut = strip_cut_marker(text)
        if not cut.truncated:
            break  # `text` is clean_text's output, which it would return unchanged
        truncated = True
        cleaned = clean_text(cut.text)
        if cleaned == text:
            break
        text = cleaned
    return Summary(text, truncated)
