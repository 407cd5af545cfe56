"""The archiver's Scrapy components, one job each (enabled in archiver/settings.py).

Extensions hold the crawl's state and find each other through the crawler
(`crawler.get_extension(...)`), never through globals or stats keys:

- `ledger.CrawlLedger`: what the crawl did that decides its outcome (pages read and missed,
  why it stopped, store errors); `archiver.outcome.decide` turns it into status and exit code;
- `database.ArchiveDatabase`: the crawl's one engine on the archive (schema current, dead runs
  marked), off when the store is;
- `run_record.RunRecord`: the crawl's `crawl_runs` row, opened with the spider, closed with
  the outcome;
- `quarantine.JsonlQuarantine`, `status.StatusFile`: refused items to a file, live counters.
- `secrets.LogScrubber`: passwords masked in the log also when Scrapy's own `scrapy crawl`
  runs the crawl (a Scrapyd node).

Middlewares: `incremental.IncrementalStopMiddleware` (spider: drops the next-page request once
pages hold nothing new), `conditional.ConditionalRequestsMiddleware` and
`warc.WarcArchiveMiddleware` (downloader). The item pipelines live in the top-level `pipelines/`
package.
"""
