"""A realistic local copy of amnestyusa.org's newsroom listings, for tests, the demo and benchmarks.

`dataset` builds the releases (deterministically, seed page included), `render` turns them into
listing pages in either markup layout, `details` renders each release's own page (and says what
it holds: the ground truth for the detail extractor), `build` writes the shipped copy under
`site/`, and `server` serves a copy on 127.0.0.1. Nothing here ever talks to the real site.
"""
