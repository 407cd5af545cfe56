"""Every ARCHIVER_* setting is declared once, used by that name, and documented as declared."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from scrapy.settings import Settings

from archiver import settings as project_settings
from archiver.settings_catalog import BY_NAME, SETTINGS, closest_name, markdown_table, setting

ROOT = Path(__file__).resolve().parents[1]
# Names that are environment variables of the failure hook, not Scrapy settings.
HOOK_VARIABLES = {
    "ARCHIVER_SCHEDULE",
    "ARCHIVER_STATUS",
    "ARCHIVER_REASON",
    "ARCHIVER_RUN_ID",
    "ARCHIVER_EXIT_CODE",
    "ARCHIVER_LOG",
    "ARCHIVER_SUMMARY",
}
# Environment variables of commands that are not crawls (docs/web.md), not Scrapy settings.
COMMAND_VARIABLES = {"ARCHIVER_WEB_OPERATOR_TOKEN", "ARCHIVER_NOTIFY_URLS"}


def test_docs_settings_table_is_the_declaration() -> None:
    page = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    table = page.split("<!-- settings:begin -->\n", 1)[1].split("<!-- settings:end -->", 1)[0]
    assert table.strip() == markdown_table().strip(), "run: python -m archiver.settings_catalog"


def test_every_archiver_name_in_the_code_is_declared() -> None:
    used = set()
    for base in ("archiver", "spiders", "pipelines"):
        for path in (ROOT / base).rglob("*.py"):
            used |= set(re.findall(r"\bARCHIVER_[A-Z_]+\b", path.read_text(encoding="utf-8")))
    undeclared = used - set(BY_NAME) - HOOK_VARIABLES - COMMAND_VARIABLES
    assert undeclared == set()


def test_the_project_settings_give_scrapy_every_declared_default() -> None:
    for spec in SETTINGS:
        assert getattr(project_settings, spec.name) == spec.default


def test_a_crawler_without_the_project_settings_reads_the_same_defaults() -> None:
    bare = Settings()
    for spec in SETTINGS:
        assert setting(bare, spec.name) == setting(Settings({spec.name: spec.default}), spec.name)


def test_typed_values_from_the_command_line() -> None:
    given = Settings({"ARCHIVER_STORE_BATCH_SIZE": "20", "ARCHIVER_STORE_ENABLED": "0"})
    assert setting(given, "ARCHIVER_STORE_BATCH_SIZE") == 20
    assert setting(given, "ARCHIVER_STORE_ENABLED") is False


def test_a_mistyped_name_finds_what_was_meant() -> None:
    assert closest_name("ARCHIVER_STORE_BATCHSIZE", BY_NAME) == "ARCHIVER_STORE_BATCH_SIZE"


def test_the_crawl_process_checks_setting_values_and_names() -> None:
    from archiver.errors import ArgumentError
    from archiver.process.worker import check_settings

    # Scrapy reads some 0/1 switches with getbool: a boolean spelling is a good value.
    assert check_settings({"TELNETCONSOLE_ENABLED": "False", "RETRY_TIMES": "2"}) == []
    assert check_settings({"ARCHIVER_STORE_ENABLED": "0", "DOWNLOAD_DELAY": "0.5"}) == []
    (warning,) = check_settings({"DOWNLOAD_DELAI": "0"})
    assert "did you mean DOWNLOAD_DELAY?" in warning
    with pytest.raises(ArgumentError, match="CONCURRENT_REQUESTS='many'"):
        check_settings({"CONCURRENT_REQUESTS": "many"})
    with pytest.raises(ArgumentError, match="ARCHIVER_STORE_BATCH_SIZE"):
        check_settings({"ARCHIVER_STORE_BATCH_SIZE": "lots"})
