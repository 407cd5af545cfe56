"""What the archiver knows about each source site: its canonical origin and its hosts.

A release's identity is its URL on the source's canonical origin, whichever host served the
listing (bare host, mirror subdomain, or a local copy reached through `base_url`). This table is
the one place that knows those origins.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Source:
    """A newsroom the archiver can crawl."""

    name: str
    canonical_origin: str  # scheme://host of release identities, no trailing slash
    domain: str  # registrable domain: the host itself and every subdomain are the source's own
    # URL path sections that say a release's type when its card has no label.
    section_types: tuple[tuple[str, str], ...] = ()

    def owns_host(self, host: str) -> bool:
        """Whether `host` is the source itself or one of its subdomains (mirrors, `www`).

        >>> AMNESTYUSA.owns_host("amnestyusa.org"), AMNESTYUSA.owns_host("mirror.amnestyusa.org")
        (True, True)
        >>> AMNESTYUSA.owns_host("amnesty.org"), AMNESTYUSA.owns_host("notamnestyusa.org")
        (False, False)
        """
        host = host.lower().rstrip(".")
        return host == self.domain or host.endswith("." + self.domain)


AMNESTYUSA = Source(
    name="amnestyusa",
    canonical_origin="https://www.amnestyusa.org",
    domain="amnestyusa.org",
    section_types=(
        ("press-releases", "Press Release"),
        ("reports", "Report"),
        ("updates", "Update"),
        ("urgent-actions", "Urgent Action"),
        ("news", "News"),
    ),
)

SOURCES: dict[str, Source] = {AMNESTYUSA.name: AMNESTYUSA}


def get_source(name: str) -> Source:
    """The source called `name`; a clear error for an unknown one."""
    try:
        return SOURCES[name]
    except KeyError:
        known = ", ".join(sorted(SOURCES))
        raise KeyError(f"unknown source {name!r} (known: {known})") from None
