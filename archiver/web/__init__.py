"""The web view (`archiver web`): a small server-rendered browser over the archive.

Starlette routes (`archiver.web.pages`) render Jinja2 templates (autoescaped) from the same
database functions as the command line (`archiver.db.browse` and friends); downloads go through
the export module; archived pages are served inert (`archiver.web.inert`); charts are inline SVG
drawn on the server (`archiver.web.charts`); htmx and the style sheet are static files in the
package, so every page works offline. Read-only unless an operator token is given
(`archiver.web.security`). See docs/web.md.
"""

from __future__ import annotations

from archiver.web.app import create_app

__all__ = ["create_app"]
