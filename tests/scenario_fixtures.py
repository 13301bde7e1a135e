"""Scenarios for the tests: Surrey's eleven districts into two unitaries, as the 2025 proposal
has them, and a split under which Surrey's one district-only arrangement becomes internal.

They run on the real ``data/reference`` (the geography is what is tested) and the shipped
default register's real arrangements.
"""

from __future__ import annotations

from recommender.core.config import Settings
from recommender.scenario import define
from recommender.scenario.define import Definition, Draft, DraftSuccessor

SURREY = "E10000030"
EAST = ("E07000207", "E07000208", "E07000210", "E07000211", "E07000215")
# Elmbridge, Epsom and Ewell, Mole Valley, Reigate and Banstead, Tandridge
WEST = ("E07000209", "E07000212", "E07000213", "E07000214", "E07000216", "E07000217")
# Guildford, Runnymede, Spelthorne, Surrey Heath, Waverley, Woking
# Joint Waste Solutions (R-215e899c): Elmbridge, Mole Valley, Surrey Heath, Woking.
JOINT_WASTE = "R-215e899c"
NORTH = ("E07000207", "E07000210", "E07000214", "E07000217", "E07000212", "E07000213")
SOUTH = tuple(c for c in EAST + WEST if c not in NORTH)
RUSHMOOR = "E07000092"  # Hampshire, next to Surrey Heath


def surrey_draft(name: str = "surrey-east-west") -> Draft:
    return Draft(
        name,
        (DraftSuccessor("East Surrey", EAST), DraftSuccessor("West Surrey", WEST)),
        "Surrey into two unitaries (the 2025 proposal)",
    )


def north_south_draft(name: str = "surrey-north-south") -> Draft:
    return Draft(
        name, (DraftSuccessor("North Surrey", NORTH), DraftSuccessor("South Surrey", SOUTH))
    )


def kent_three_draft(name: str = "kent-three") -> Draft:
    """Kent's districts into three unitaries: the Dartford and Sevenoaks Environmental Health
    Partnership, which ended in 2021, is carried over between North and West Kent."""
    return Draft(
        name,
        (
            DraftSuccessor("North Kent", ("E07000107", "E07000109", "E07000113", "E07000115")),
            DraftSuccessor("West Kent", ("E07000110", "E07000111", "E07000116")),
            DraftSuccessor(
                "East Kent", ("E07000105", "E07000106", "E07000108", "E07000112", "E07000114")
            ),
        ),
    )


def surrey(settings: Settings) -> Definition:
    return define.check(surrey_draft(), settings)
