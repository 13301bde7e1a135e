"""Sources ranked by what they are: official documents, then the press, then aggregators."""

from __future__ import annotations

import pytest

from recommender.core.sources import SOURCE_KINDS, rank_sources, source_host, source_kind


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://democracy.northdevon.gov.uk/ieListDocuments.aspx?CId=136", "official"),
        ("https://www.gov.uk/government/publications/x", "official"),
        ("https://northlincolnshire.moderngov.co.uk/documents/s1.pdf", "official"),
        ("https://modgov.cherwell.gov.uk/x", "official"),
        ("https://committees.parliament.uk/writtenevidence/1/pdf/", "official"),
        ("https://www.cleveland.pcc.police.uk/news", "official"),
        ("https://emas.nhs.uk/about", "official"),
        ("https://www.lawgazette.co.uk/news/x", "press"),
        ("https://www.kentonline.co.uk/x", "press"),
        ("https://www.bbc.co.uk/news/x", "press"),
        ("https://docslib.org/doc/123/x", "aggregator"),
        ("https://vdocuments.site/x", "aggregator"),
        ("https://en.wikipedia.org/wiki/X", "aggregator"),
        ("https://thanetpress.blogspot.com/2010/x", "aggregator"),
        # A fire authority's, a commissioner's own site; copies on document-sharing sites.
        ("https://www.rbfrs.co.uk/news/x", "official"),
        ("https://www.northantspfcc.org.uk/x", "official"),
        ("https://www.careersdocbox.com/x", "aggregator"),
        ("https://studylib.net/doc/1/x", "aggregator"),
        ("https://www.pdf-archive.com/x", "aggregator"),
        ("https://notrbfrs.co.uk/x", "press"),  # the host itself, not one ending like it
        ("not a web address", "press"),
        # Look-alikes are not official: the host must end with an official domain.
        ("https://gov.uk.example.com/x", "press"),
        ("https://fakegov.uk.docslib.org/x", "aggregator"),
    ],
)
def test_source_kind(url: str, kind: str) -> None:
    assert source_kind(url) == kind
    assert kind in SOURCE_KINDS


def test_sources_are_ranked_official_first_once_each() -> None:
    urls = [
        "https://docslib.org/doc/1",
        "https://www.lawgazette.co.uk/a",
        "https://democracy.kent.gov.uk/b",
        "https://www.lawgazette.co.uk/a",
        "",
        "https://committees.parliament.uk/c",
        "https://en.wikipedia.org/wiki/D",
    ]
    assert rank_sources(urls) == [
        "https://committees.parliament.uk/c",
        "https://democracy.kent.gov.uk/b",
        "https://www.lawgazette.co.uk/a",
        "https://docslib.org/doc/1",
        "https://en.wikipedia.org/wiki/D",
    ]
    assert source_host("https://www.lawgazette.co.uk/a") == "lawgazette.co.uk"
    assert source_host("ftp://x") == ""
