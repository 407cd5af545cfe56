"""Scrapy spiders, one per source site. Spiders only route: extraction lives in archiver.extract."""
