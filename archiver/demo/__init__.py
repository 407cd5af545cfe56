"""A realistic local copy of amnestyusa.org's newsroom listings, for tests, the demo and benchmarks.

`dataset` builds the releases (deterministically, seed page included), `render` turns them into
listing pages in either markup layout, `build` writes the shipped copy under `site/`, and
`server` serves a copy on 127.0.0.1. Nothing here ever talks to the real site.
"""
