"""The errors a user can fix, each with a message meant for them and the exit status it deserves.

Every layer raises these instead of printing: the command line turns any `ArchiverError` into
one line on stderr and its `exit_status` (see `archiver.outcome` for the table), so a typo never
ends in a traceback and no layer needs to know about the terminal. Pure: no imports beyond the
standard library, so the cheapest command can catch them.
"""

from __future__ import annotations


class ArchiverError(Exception):
    """Something the user can fix; `str(error)` is the whole message, `exit_status` the code."""

    exit_status = 1


class ArgumentError(ArchiverError, ValueError):
    """A spider argument, setting or option value that cannot be used (exit status 2)."""

    exit_status = 2


class ScheduleError(ArchiverError, ValueError):
    """A schedule that cannot be added, found or run as given."""


class ExportError(ArchiverError, ValueError):
    """Input or state that makes an export impossible."""


class ArchiveNotFoundError(ArchiverError):
    """A read-only command pointed at a database that holds no archive (nothing is created)."""


class DatabaseError(ArchiverError):
    """The database could not be opened, read or written; the message holds no password."""


class SchemaError(DatabaseError):
    """The database's schema cannot be brought to this version's head (e.g. it is newer)."""
