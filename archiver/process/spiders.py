"""The project's spiders, found the way `scrapy crawl` finds them, and their arguments checked.

The one check of "is this a spider and would it accept these arguments" for `archiver crawl`,
`archiver schedule add` and the crawl process itself: a typo is refused at the prompt, before a
process starts or a schedule is stored.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from scrapy.spiderloader import SpiderLoader
from scrapy.utils.project import get_project_settings

from archiver.errors import ArgumentError

SETTINGS_MODULE = "archiver.settings"


def spider_loader() -> SpiderLoader:
    """Scrapy's loader over the project's spider modules (`archiver.settings`)."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", SETTINGS_MODULE)
    return SpiderLoader.from_settings(get_project_settings())


def check_spider(name: str, arguments: Mapping[str, str]) -> type:
    """The spider class `name`, after its own `check_arguments` accepted `arguments`.

    Raises ArgumentError naming the known spiders, or saying what is wrong with an argument.
    """
    loader = spider_loader()
    try:
        spidercls = loader.load(name)
    except KeyError:
        known = ", ".join(sorted(loader.list())) or "none"
        raise ArgumentError(f"unknown spider {name!r} (known: {known})") from None
    check = getattr(spidercls, "check_arguments", None)
    if check is not None:
        check(**arguments)
    return spidercls
