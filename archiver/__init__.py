"""archiver: archive press releases from newsroom listing pages."""

__version__ = "0.1.0"
