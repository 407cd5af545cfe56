"""A fingerprint of what a release says, so storage can tell when a listing card changed.

Only the clean, reader-visible fields take part (not the URL, which is the identity, nor the raw
strings, whose whitespace the site changes without changing the release).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from json.encoder import encode_basestring  # what json.dumps(ensure_ascii=False) uses for str


def content_hash(
    title: str | None, summary: str | None, type_: str | None, published_on: date | None
) -> str:
    """SHA-256 hex of the clean title, summary, type and ISO date (stable across runs).

    >>> content_hash("T", "S", "Report", date(2017, 2, 3))[:16]
    'ec7ff5d423598ad9'
    >>> content_hash("T", "S", "Report", None) != content_hash("T", "S", "Report", date(2017, 2, 3))
    True
    """
    fields = [title, summary, type_, published_on.isoformat() if published_on else None]
    # JSON keeps field boundaries unambiguous ("a" + "bc" differs from "ab" + "c").
    if all(value is None or type(value) is str for value in fields):
        # The very text json.dumps(fields, ensure_ascii=False, separators=(",", ":")) returns,
        # without building an encoder for every item (a quarter of normalising a card).
        parts = ["null" if value is None else encode_basestring(value) for value in fields]
        payload = "[" + ",".join(parts) + "]"
    else:
        payload = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
