"""What a council officer asks for, and the limits on it (light: no model code imported).

Used by :mod:`recommender.recommend.ranking` and by the web service's parameter parsing, which must
not
load the model machinery at import.
"""

from __future__ import annotations

from dataclasses import dataclass

from recommender.core.errors import InvalidInput
from recommender.reference.lookup import KINDS

MAX_K = 50
# At most this many services per partner in one list, so that the top suggestions show a range
# of partners (a strong pair would otherwise fill the list); ask for one service to see every
# partner for it.
PER_PARTNER = 3
MAX_PER_PARTNER = 16  # (a list of at most MAX_K: more per partner is every service of one)
MAX_KM = 2000  # farther than any two English bodies
# A suggestion is not shown unless asked for when, should the body share the service with
# someone, the chance that it would be with this partner is under 1 in 200: the long tail of
# far and unlike bodies. The floor is on that conditional chance, not on the likelihood over
# five years, which is low for every partner of a body that rarely shares (so an absolute floor
# would hide its best partners, and the real ones among them).
CHOICE_FLOOR = 0.005


def odds(p: float) -> str:
    """A small chance as odds for people: 0.005 is "1 in 200".

    >>> odds(CHOICE_FLOOR)
    '1 in 200'
    """
    return "no chance" if p <= 0 else f"1 in {max(1, round(1 / p)):,}"


# What a list is ranked by: expected annual savings (likelihood x savings if formed, the
# default), the likelihood alone, or the savings if formed alone.
SORTS = ("expected", "likelihood", "savings")


@dataclass(frozen=True)
class Query:
    """What a council officer asks for."""

    body: str
    service: str | None = None
    kinds: tuple[str, ...] | None = None
    max_km: float | None = None
    k: int = 10
    include_existing: bool = False
    per_partner: int = PER_PARTNER
    min_choice: float = CHOICE_FLOOR
    sort: str = "expected"


def check_k(k: int) -> None:
    if not 1 <= k <= MAX_K:
        raise InvalidInput(f"k must be between 1 and {MAX_K}, got {k}", field="k")


def check_query(query: Query) -> None:
    check_k(query.k)
    if not 1 <= query.per_partner <= MAX_PER_PARTNER:
        raise InvalidInput(
            f"per_partner must be between 1 and {MAX_PER_PARTNER}, got {query.per_partner}",
            field="per_partner",
        )
    if query.sort not in SORTS:
        raise InvalidInput(
            f"unknown sort {query.sort!r}; expected one of {', '.join(SORTS)}", field="sort"
        )
    if not 0 <= query.min_choice <= 1:
        raise InvalidInput(
            f"min_choice must be between 0 and 1, got {query.min_choice}", field="min_choice"
        )
    if query.max_km is not None and not (0 < query.max_km <= MAX_KM):
        raise InvalidInput(
            f"max_km must be a number of km above 0 and at most {MAX_KM}, got {query.max_km}",
            field="max_km",
        )
    if query.kinds is not None:
        bad = [kind for kind in query.kinds if kind not in KINDS]
        if bad or not query.kinds:
            raise InvalidInput(
                f"unknown kind(s) {', '.join(bad) or '(none)'}; "
                f"expected some of {', '.join(KINDS)}",
                field="kinds",
            )
