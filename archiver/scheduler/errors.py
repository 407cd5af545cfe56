"""The error every schedule check raises; its own module so the CLI can catch it cheaply."""

from __future__ import annotations


class ScheduleError(ValueError):
    """A schedule that cannot be added or found; the message is meant for the operator."""
