"""Shared test set-up: the local demo site and the databases come from plugin modules."""

pytest_plugins = ["tests.plugins.demo", "tests.plugins.db"]
