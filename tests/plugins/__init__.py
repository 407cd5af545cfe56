"""Pytest plugin modules loaded from tests/conftest.py."""
