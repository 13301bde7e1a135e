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
