"""Launching crawls: one crawl per process (Twisted's reactor cannot restart in a process).

- `crawl.run_crawl`: the parent side, used by the command line, the demo and the scheduler;
- `worker`: the child side (`python -m archiver.process.worker`), which runs Scrapy;
- `spiders.check_spider`: a spider's name and arguments, checked before any process starts;
- `reparse.run_reparse`: a crawl of archived pages instead of the site.
"""
