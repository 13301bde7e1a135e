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
        "About fifty documented arrangements, each with its public source (council reports, "
        "LGA case studies, press)",
    ),
)

SIMULATED_NOTE = (
    "Most arrangements the model learns from are simulated: the LGA's full map data cannot be "
    "downloaded, so the project generates a register over the real bodies and geography, "
    "calibrated to the LGA's published facts, and labels every simulated arrangement as such. "
    "Evidence marked simulated illustrates the pattern; evidence marked real has a public source."
)
