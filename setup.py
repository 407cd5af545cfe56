"""Everything is in pyproject.toml: this file only stops `scrapyd-deploy` from writing its own
setup.py (whose name, packages and entry point would be ignored) when it builds the egg."""

from setuptools import setup

setup()
