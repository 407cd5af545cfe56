"""Signals the archiver's components use to talk to each other (Scrapy style, no globals).

`item_quarantined` is sent by the validate pipeline for every item it refuses, with
`item` (a ReleaseItem), `reasons` (list of short reason codes) and `spider`. Whatever keeps the
quarantine (the store pipeline's `invalid_items` table, or the JSONL quarantine extension when
no database is configured) connects to it, so refusing an item never loses it.

`store_flush_requested` asks whatever buffers items for the archive to write them now (no
arguments): the release-page component sends it before it asks the archive which pages are due,
so the releases of the listing's last pages are among them.
"""

item_quarantined = object()
store_flush_requested = object()
