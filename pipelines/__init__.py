"""Item pipelines of the archiver (registered in archiver/settings.py)."""
