"""Where the data comes from, and the attribution every page and briefing must show."""

from __future__ import annotations

ONS_ATTRIBUTION = (
    "Source: Office for National Statistics licensed under the Open Government Licence v.3.0. "
    "Contains OS data © Crown copyright and database right 2024."
)
MYSOCIETY_ATTRIBUTION = "Contains data from mySociety (CC BY 4.0)."

SOURCES: tuple[tuple[str, str], ...] = (
    (
        "Boundaries, codes, names and lookups",
        "ONS Local Authority Districts (May 2024), Combined Authorities (2024), and the ONS "
        "lookups to counties, regions, fire, police and NHS areas, and to successors of "
        "abolished councils",
    ),
    (
        "Fire governance",
        "Who governs each fire and rescue authority (its council, a commissioner, a mayor or "
        "the authority itself), compiled from public pages; each fact links its page",
    ),
    ("Population", "ONS mid-2022 population estimates"),
    ("Rural-urban class", "ONS rural-urban classification of local authorities"),
    ("Deprivation", "mySociety composite index of multiple deprivation for councils"),
    ("Council names", "mySociety register of local authorities (alternative names)"),
    (
        "Published facts on shared services",
        "Local Government Association shared-services map releases 2011-2019 and coverage of "
        "them (the facts the simulated register is calibrated to)",
    ),
    (
        "Real arrangements",
        "Documented shared-service arrangements, each with its public source (council reports, "
        "LGA case studies, press), and any arrangements an analyst has imported",
    ),
)

SIMULATED_NOTE = (
    "The model also learns from a simulated register: the LGA's full map data cannot be "
    "downloaded, so the project generates arrangements over the real bodies and geography, "
    "calibrated to the LGA's published facts and to the partner patterns of the real "
    "arrangements. Simulated arrangements are training data only: they are never shown as a "
    "body's history, reasons or evidence, and are labelled 'simulated, not real' wherever an "
    "analyst asks to see them."
)


# How a simulated arrangement this project's simulator made names its source (an analyst may
# import other simulated arrangements): "simulated (recommender.simulation.process, seed=8, …)".
SIMULATOR_SOURCE = "simulated (recommender.simulation.process,"
# And the note on each of its rows.
SIMULATOR_NOTE = "Simulated arrangement for model training; not a real partnership."

# Where an arrangement's source stands: a council's or another public body's own document
# first (committee papers, reports, official sites), then the press and other pages, then
# copies on document-sharing and aggregator sites (the original may have changed).
SOURCE_KINDS = {
    "official": "council or official document",
    "press": "press or other page",
    "aggregator": "copy on an aggregator site",
}
_OFFICIAL_ENDS = ("gov.uk", "parliament.uk", "police.uk", "nhs.uk", "nhs.net", "moderngov.co.uk")
_OFFICIAL_STARTS = ("democracy.", "democratic.", "modgov.", "moderngov.", "committee", "egenda.",
                    "minutes.", "councillors.", "meetings.")  # fmt: skip
# Public bodies' and their joint services' own sites outside gov.uk (a fire authority, a
# commissioner, a council-owned shared service), as the documented arrangements cite them.
_OFFICIAL_HOSTS = ("rbfrs.co.uk", "northantspfcc.org.uk", "policeauthority.org", "lgss.co.uk",
                   "centralmidlandsaudit.co.uk", "escp.org.uk", "twmuseums.org.uk",
                   "hertfordshirecctv.co.uk", "clevelandemergencyplanning.info",
                   "publicagroup.uk")  # fmt: skip
_AGGREGATORS = ("docslib.org", "docest.com", "vdocuments.", "fdocuments.", "businessdocbox.com",
                "careersdocbox.com", "studylib.net", "pdf-archive.com",
                "docplayer.", "pdfslide.", "dokumen.", "scribd.com", "yumpu.com", "issuu.com",
                "wikipedia.org", "blogspot.", "dweb.link", "ipfs.")  # fmt: skip


def source_host(url: str) -> str:
    """The host of a source URL without ``www.`` ("" when it is not a web address)."""
    from urllib.parse import urlsplit

    if not url.startswith(("https://", "http://")):
        return ""
    return (urlsplit(url).hostname or "").lower().removeprefix("www.")


def source_kind(url: str) -> str:
    """Say what a source is: ``official`` (gov.uk and other public bodies' documents, council
    committee systems such as moderngov, parliament), ``aggregator`` (document-sharing copies,
    encyclopaedias, blogs) or ``press`` (everything else: newspapers, trade press, firms)."""
    host = source_host(url)
    if not host:
        return "press"
    if host.endswith(_OFFICIAL_ENDS) or host.startswith(_OFFICIAL_STARTS):
        return "official"
    if host in _OFFICIAL_HOSTS:
        return "official"
    if any(part in host for part in _AGGREGATORS):
        return "aggregator"
    return "press"


def rank_sources(urls: list[str]) -> list[str]:
    """The sources once each, official documents first, then the press, then aggregators
    (by host and address within each kind)."""
    order = list(SOURCE_KINDS)
    unique = {u.strip() for u in urls if u and u.strip()}
    return sorted(unique, key=lambda u: (order.index(source_kind(u)), source_host(u), u))
