"""What a suggestion's likelihood is: its horizon, and the words every channel defines it with
(the pages, the briefing, the downloads, the CLI and the API's schema). Light on purpose: the
API's schema imports it, and scikit-learn loads only with a model
(:mod:`recommender.model.scoring` computes the figure)."""

from __future__ import annotations

HORIZON_YEARS = 5

# What a likelihood is, said wherever one is defined (pages, briefings, downloads, the API).
LIKELIHOOD_SIDE = (
    "the mean of the estimates from each body's side: how likely each is to enter a new "
    "arrangement for the service, and to choose the other among its own candidates (so both "
    "bodies' lists give the two the same figure)"
)
LIKELIHOOD_UNCHECKED = (
    "The held-out evaluation tests the order the likelihoods give, not the percentages: "
    "the register documents only some of the arrangements that formed, so there is no count "
    "to check a percentage against. Read it as a guide to the order, not a measured chance."
)
