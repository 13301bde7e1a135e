"""The model page's verdicts read as words: the protocol and the baselines by name."""

from __future__ import annotations

from recommender.model.baselines import BASELINE_LABELS
from recommender.model.verdicts import readable as _readable


def test_a_verdict_names_the_rules_not_their_ids() -> None:
    line = (
        "NOT BETTER on lopo, service given, all pair kinds (273 arrangements): does not beat "
        "plain_logit on mrr 0.579 against 0.616; does not beat group_nearest on hit@1 0.411 "
        "against 0.452; does not beat nearest on hit@10 0.900 against 0.930"
    )
    said = _readable(line)
    assert said.startswith("NOT BETTER in the headline, service given")
    for method in ("plain_logit", "group_nearest", "nearest"):
        assert f"“{BASELINE_LABELS[method]}”" in said
    assert "_" not in said and "lopo" not in said
    assert said.count("“") == 3  # a label holding another id is not replaced again


def test_a_verdict_names_every_protocol_in_words() -> None:
    warm = _readable("better on lopo_warm, any service, all pair kinds (235 arrangements): mrr")
    start = _readable("NOT BETTER on cold_start, service given, all pair kinds (273 arrangements)")
    assert warm.startswith("better as served (with what was known when it started in view), any")
    assert start.startswith("NOT BETTER for a body with no history, service given")


def test_a_lead_within_the_noise_reads_as_words_too() -> None:
    said = _readable(
        "no clear difference on lopo_warm, any service, all pair kinds (235 arrangements): "
        "ahead of plain_logit only within the noise on mrr 0.606 against 0.582 (95% interval "
        "of the lead -0.002 to +0.050); better (not tested for noise) on lopo, service given"
    )
    assert said.startswith("no clear difference as served (with what was known when it started")
    assert f"ahead of “{BASELINE_LABELS['plain_logit']}” only within the noise" in said
    assert "(not tested for noise) in the headline, service given" in said
