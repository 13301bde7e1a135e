"""The advisor's briefing: HTML and a real PDF (WeasyPrint), checked through its text."""

from __future__ import annotations

import html
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from browser_fixtures import synthetic_evaluation
from recommender.cli import cli
from recommender.core.config import Settings
from recommender.core.errors import InvalidInput, UnknownBody
from recommender.core.kinds import in_sentence
from recommender.core.services import load_services
from recommender.core.sources import MYSOCIETY_ATTRIBUTION, SOURCE_KINDS
from recommender.recommend.ranking import Query, Recommender
from recommender.render import briefing
from recommender.render.briefing import briefing_context, briefing_document, write_briefing
from recommender.render.charts import money

ARTIFACTS = Path(__file__).parent / "artifacts"


def pdf_text(path: Path) -> str:
    return " ".join(" ".join((page.extract_text() or "").split()) for page in PdfReader(path).pages)


def test_pdf_briefing_has_every_section_and_the_figures(
    recommender_model: Recommender, tmp_path: Path
) -> None:
    out = write_briefing(recommender_model, "Rother", tmp_path / "rother.pdf")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "briefing-rother.pdf").write_bytes(out.read_bytes())
    assert out.read_bytes().startswith(b"%PDF")
    text = pdf_text(out)
    for heading in (
        "Shared-service opportunities: Rother",
        "In short",
        "Existing arrangements",
        "Top opportunities",
        "Best partner groups",
        "Comparable arrangements and the savings their sources give",
        "How to read the figures",
        "Sources",
        "The arrangements cited, official documents first",
    ):
        assert heading in text, heading
    assert recommender_model.version in text
    assert "Office for National Statistics" in text and "mySociety" in text
    top = recommender_model.recommend(Query("Rother", k=3), explain=False)
    for r in top:
        assert r.partner_name in text
    assert "East Sussex Procurement Hub" in text  # Rother's real arrangement
    # A group's per-member figure is an even share, not what each would save
    said = " ".join(text.split())
    assert "Even share each" in said and "not what each would save" in said
    assert "Estimated savings a year" in said and "the model's estimate for the whole group" in said


def test_html_briefing_is_self_contained(recommender_model: Recommender, tmp_path: Path) -> None:
    out = write_briefing(
        recommender_model, "Wealden", tmp_path / "wealden.html", service="hr_payroll"
    )
    html = out.read_text()
    assert html.count("<svg") >= 2  # the map and the chart, inline
    before_sources = html.split('<section id="evidence">')[0]
    assert not re.search(r'(src|href)="https?://', before_sources)  # no remote resources
    assert "<link" not in html and "<script" not in html
    assert MYSOCIETY_ATTRIBUTION in html
    assert "HR and payroll" in html


def test_former_councils_are_named_as_such_never_as_their_successor(
    recommender_model: Recommender, tmp_path: Path
) -> None:
    """Asked for Forest Heath (abolished, now West Suffolk): the briefing says so, and its
    existing arrangements name former councils with what they are now; they read "West
    Suffolk, West Suffolk", as if the council were its own partner."""
    html = write_briefing(recommender_model, "Forest Heath", tmp_path / "fh.html").read_text()
    assert "Forest Heath District Council was abolished in 2019" in html
    assert "This briefing is for West Suffolk." in html
    existing = html.split('<section id="existing">')[1].split("</section>")[0]
    assert "(now West Suffolk)" in existing
    assert "West Suffolk, West Suffolk" not in existing
    plain = write_briefing(recommender_model, "West Suffolk", tmp_path / "ws.html").read_text()
    assert "abolished" not in plain.split('<section id="summary">')[0]


def test_briefing_states_who_governs_the_fire_service(
    recommender_model: Recommender, tmp_path: Path
) -> None:
    html = write_briefing(recommender_model, "Surrey", tmp_path / "surrey.html").read_text()
    assert "Runs the fire and rescue service (Surrey Fire and Rescue Authority)" in html
    assert "(source: https://en.m.wikipedia.org/wiki/Surrey_Fire_and_Rescue_Service)" in html


def test_bad_file_names_and_bodies_are_refused(
    recommender_model: Recommender, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInput, match=r"\.pdf or \.html"):
        write_briefing(recommender_model, "Rother", tmp_path / "rother.docx")
    with pytest.raises(UnknownBody):
        write_briefing(recommender_model, "Nowhereshire", tmp_path / "x.pdf")
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_cli_writes_the_briefing(trained_settings: Settings, tmp_path: Path) -> None:
    import os

    env = {
        "RECOMMENDER_DATA_DIR": str(trained_settings.data),
        "RECOMMENDER_MODELS_DIR": str(trained_settings.models),
        "RECOMMENDER_DATABASE_URL": trained_settings.db_url,
    }
    out = tmp_path / "b.html"
    result = CliRunner(env=env).invoke(cli, ["briefing", "Hastings", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and out.is_file()
    assert os.path.getsize(out) > 10_000
    assert stat.S_IMODE(out.stat().st_mode) == 0o644  # readable as the CLI's other files (0o600)
    # A mistyped folder is refused, not made (it was, anywhere).
    typo = tmp_path / "no-such-folder" / "sub" / "b.html"
    refused = CliRunner(env=env).invoke(cli, ["briefing", "Hastings", "--out", str(typo)])
    assert refused.exit_code == 2 and "does not exist" in refused.output
    assert not (tmp_path / "no-such-folder").exists()
    for args in (["register", "export"], ["feedback", "export"], ["score"]):
        refused = CliRunner(env=env).invoke(cli, [*args, "--out", str(typo)])
        assert refused.exit_code == 2 and "does not exist" in refused.output, args


def test_the_pdf_opens_with_the_summary_and_never_shows_a_service_id(
    recommender_model: Recommender, tmp_path: Path
) -> None:
    settings = recommender_model.settings
    for body in ("Rother", "Kent Fire and Rescue Authority"):
        out = write_briefing(recommender_model, body, tmp_path / "b.pdf")
        text = pdf_text(out)
        context = briefing_context(recommender_model, body)
        summary = " ".join(context["summary"].split())
        top = recommender_model.recommend(Query(body, k=3), explain=False)
        assert "three best opportunities are" in summary
        for r in top:  # named in words, with their figures in the one money format
            partner = in_sentence(r.partner_name, r.partner_kind)  # ("the Kent police …")
            assert f"with {partner} (" in summary and money(r.savings_gbp) in summary
        assert summary in text
        assert text.index("In short") < text.index("Top opportunities")
        labels = load_services(settings)["label"]
        for service, label in labels.items():
            if "_" not in str(service):
                continue  # "legal", "ict": words the text may use
            words = str(service).replace("_", " ")
            assert service not in text, service
            if words != str(label).lower():  # "customer services" is its label too
                assert words not in text.lower(), words
        assert not re.search(r"£\d{1,3},\d{3}\b", text)  # £7.1k, never £7,119


def _rendered_under(model: Recommender, headline: dict[str, Any], **context: Any) -> str:
    """The Sussex police force area's briefing (E23000033) as text, under ``headline`` (the
    model's verdict as the briefing states it), with any other ``context`` given."""
    made = briefing_context(model, "E23000033") | {"headline": headline} | context
    made["model"] = made["model"] | {"trained_at": "2026-11-30T08:00:00"}
    return " ".join(briefing.render_html(made, model.settings).split())


def test_the_caption_says_the_dot_is_the_saving_if_formed(
    recommender_model: Recommender, tmp_path: Path
) -> None:
    html = write_briefing(recommender_model, "Rother", tmp_path / "r.html").read_text()
    assert "the dot is the typical saving if formed" in html
    assert "expected value" not in html


def test_cited_sources_are_ranked_official_first(recommender_model: Recommender) -> None:
    context = briefing_context(recommender_model, "Rother")
    kinds = [s["kind"] for s in context["sources_cited"]]
    assert kinds and kinds == sorted(kinds, key=list(SOURCE_KINDS).index)
    numbers = {s["url"]: s["number"] for s in context["sources_cited"]}
    cited = context["existing"] + context["evidence"]
    assert any(a["source"] for a in cited)
    for a in cited:
        assert a["source_number"] == (numbers[a["source"]] if a["source"] else None), a


def test_a_briefing_asked_for_twice_is_made_once(
    recommender_model: Recommender, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = briefing_document(recommender_model, "Hastings")
    calls: list[str] = []
    monkeypatch.setattr(briefing, "pdf_bytes", lambda html, settings: calls.append(html) or b"")
    assert briefing_document(recommender_model, "Hastings") == first and not calls
    briefing_document(recommender_model, "Hastings", service="legal")
    assert len(calls) == 1  # another service: another document


def test_print_says_a_shared_history_too(recommender_model: Recommender) -> None:
    """The briefing printed three reasons and so dropped "already works with …", which the
    page always says."""
    found = recommender_model.recommend(Query("Rother", k=20))
    shared = [r for r in found if any(x.factor == "history" for x in r.reasons[3:])]
    assert shared
    printed = briefing._printed(shared[0].reasons)
    assert printed[:3] == shared[0].reasons[:3] and printed[-1].factor == "history"


def test_print_says_every_note_too() -> None:
    """Essex's fire authority and police force are under one commissioner: the note comes
    last among the reasons, so print dropped it where the page says it."""
    from recommender.model.explain import Reason

    reasons = [
        Reason("area", "in the same county", 2.5),
        Reason("border", "shares 44 km of border", 2.4),
        Reason("distance", "24 km away", 2.1),
        Reason("type", "also a district council", 1.5),
        Reason("governance", "already under one governor, the Police, Fire and Crime "
               "Commissioner for Essex since 2017: sharing is a matter for them", 0.0),
    ]  # fmt: skip
    printed = briefing._printed(reasons)
    assert printed == [*reasons[:3], reasons[4]]


def test_print_weighs_the_model_against_its_best_baseline_in_words(
    recommender_model: Recommender,
) -> None:
    """The model paragraph said "of bodies" (they are held-out cases), called plain logistic
    regression a simple rule by its id, and never said the model does not beat it."""
    meta = {"evaluation": synthetic_evaluation()}
    meta["evaluation"]["ranking"] = [
        r | {"mrr": 0.7} if r["method"] == "plain_logit" else r
        for r in meta["evaluation"]["ranking"]
    ]
    headline = briefing._headline(meta)
    assert headline is not None and headline["beaten"]
    text = _rendered_under(
        recommender_model,
        headline,
        cautions=[{"said": "for police–police pairs the model ranked real partners no better"}],
    )
    assert "On 273 real arrangements held out with their whole partnership" in text
    assert "the best baseline, plain logistic regression on a dozen pair features" in text
    assert "<strong>the model does not beat that baseline</strong>" in text
    assert "of bodies" not in text and "plain_logit" not in text
    # Savings are learned from the real figures, not from every real arrangement (it said 300)
    assert "shared history and savings learned from" not in text
    # …and from those with two or more known members only, that ran: 51 of the 62 with a figure
    assert "with two or more members that are bodies it covers, savings from" in text
    assert "with an annual savings figure that ran, not only proposed" in text
    # A savings figure read from its source's words wraps in its cell: it ran off the page.
    assert "td.savings { white-space: normal" in text and '<td class="num savings">' in text
    assert (  # where its own evaluation does not back the order, beside the suggestions
        "How far to trust the order.</strong> On real arrangements held out from training, "
        "for police–police pairs the model ranked real partners no better." in text
    )


def test_print_says_a_lead_within_the_noise_is_no_clear_difference(
    recommender_model: Recommender,
) -> None:
    """The headline sentence said "the model beats every baseline on this measure" whenever
    its MRR was the higher, where the model page says "no clear difference" of a lead whose
    95% interval runs below 0."""
    figures = {"arrangements": 269, "hit@1": 0.4, "hit@10": 0.9}
    rows = [
        {"protocol": "lopo", "query": "service", "pair_kind": "all", "method": m, "mrr": mrr}
        | figures
        | ({"model_minus": {"mrr": lead}} if lead else {})
        for m, mrr, lead in (("model", 0.605, None), ("plain_logit", 0.590, [-0.002, 0.05]),
                             ("nearest", 0.5, [0.05, 0.15]))
    ]  # fmt: skip
    headline = briefing._headline({"evaluation": {"ranking": rows}})
    assert headline is not None and headline["noise"] and not headline["beaten"]
    assert headline["lead"] == [-0.002, 0.05]
    text = _rendered_under(recommender_model, headline)
    assert (
        "0.60 against 0.59: the model is ahead only within the noise (the 95% interval of its "
        "lead over that baseline runs from -0.002 to +0.050), <strong>no clear difference"
    ) in text
    assert "beats every baseline" not in text
    rows[1]["model_minus"] = {"mrr": [0.001, 0.05]}
    clear = briefing._headline({"evaluation": {"ranking": rows}})
    assert clear is not None and not clear["noise"] and not clear["beaten"]
    # Clear of the best, within the noise of another: that one's interval, by its name.
    rows[2]["model_minus"] = {"mrr": [-0.01, 0.15]}
    other = briefing._headline({"evaluation": {"ranking": rows}})
    assert other is not None and other["noise"] and other["lead"] == [-0.01, 0.15]
    assert other["closest"] == "nearest by distance"


def test_the_summary_says_the_service_asked_for_once_and_counts_the_rest(
    recommender_model: Recommender,
) -> None:
    """ "…are, for HR and payroll: HR and payroll with Stroud", and "…; and property and assets
    and more"."""
    found = recommender_model.recommend(Query("Rother", service="legal", k=3))
    labels = {"legal": "Legal services", "ict": "ICT and digital", "waste": "Waste",
              "hr": "HR and payroll", "it": "IT", "pay": "Payroll"}  # fmt: skip
    text = briefing.summary("Rother", found, [], labels, "legal")
    assert f"are, for legal services: {found[0].partner_name} (" in text
    assert "legal services with" not in text
    # Three partners for one service are alternatives: no total of them at all, only each
    # figure on its own ("…, not savings to add up" beside a total read as a contradiction).
    names = [r.partner_name for r in found]
    assert "Together they are worth" not in text and "come to about" not in text
    assert "Each figure stands alone" in text
    assert f"{names[0]}, {names[1]} and {names[2]} are alternatives for legal services" in text
    mixed = recommender_model.recommend(Query("Rother", k=10))
    services = [r.service for r in mixed if not r.existing][:3]
    said_mixed = briefing.summary("Rother", mixed, [], labels)
    assert ("are alternatives" in said_mixed) == (len(set(services)) < len(services))
    existing = [{"service": s} for s in labels]
    said = briefing.summary("Rother", [], existing, labels)
    assert said.endswith("and 2 more).") and "and more" not in said


def test_the_summary_says_arrangements_that_have_ended_apart() -> None:
    """Thurrock "is in 2 documented arrangements already (legal services and shared
    management)": the chief executive it shared with Barking and Dagenham ended in 2014."""
    labels = {"legal": "Legal services", "management": "Shared management"}
    legal = {"service": "legal", "end_year": None, "status": "unknown"}
    chief = {"service": "management", "end_year": 2014, "status": "ended"}
    said = briefing.summary("Thurrock", [], [legal, chief], labels)
    assert said.endswith(
        "Thurrock is in 1 documented arrangement already (legal services); 1 more has ended."
    )
    undated = chief | {"end_year": None}
    said = briefing.summary("Thurrock", [], [chief, undated], labels)
    assert said.endswith("Thurrock is in no running documented arrangement (2 that have ended).")
    proposal = {"service": "legal", "name": "Thurrock legal talks (proposal)", "status": "unknown"}
    said = briefing.summary("Thurrock", [], [legal, chief, proposal], labels)
    assert said.endswith(
        "Thurrock is in 1 documented arrangement already (legal services); 1 more has ended; "
        "1 more was only proposed."
    )
    said = briefing.summary("Thurrock", [], [proposal], labels)
    assert said.endswith("Thurrock is in no running documented arrangement (1 only proposed).")
    said = briefing.summary("Thurrock", [], [legal], labels)
    assert said.endswith("Thurrock is in 1 documented arrangement already (legal services).")


def test_the_summary_says_an_arrangement_the_body_left_apart_from_those_that_ended() -> None:
    """Hammersmith and Fulham "is in 4 documented arrangements already …; 1 more has ended",
    of the Tri-borough libraries, which it left in 2022 while the others stayed in."""
    labels = {"legal": "Legal services", "libraries": "Libraries", "hr": "HR and payroll",
              "building": "Building control"}  # fmt: skip
    legal = {"service": "legal", "end_year": None, "status": "unknown"}
    libraries = {"service": "libraries", "status": "active", "left": True, "left_year": 2022}
    said = briefing.summary("Hammersmith and Fulham", [], [legal, libraries], labels)
    assert said.endswith(
        "is in 1 documented arrangement already (legal services); it has left 1 more."
    )
    said = briefing.summary("Hammersmith and Fulham", [], [libraries], labels)
    assert said.endswith("is in no running documented arrangement (1 it left).")
    hr, building = {"service": "hr", "status": "active"}, {"service": "building"}
    said = briefing.summary("Hammersmith and Fulham", [], [hr, building, libraries], labels)
    assert "already (building control, and HR and payroll)" in said  # capitals not first


def test_the_summary_totals_one_partner_per_service_never_alternatives(
    recommender_model: Recommender,
) -> None:
    """Rother: "legal services with Wealden (…£112k expected); legal services with Hastings
    (…£89k expected); and ICT and digital with Wealden (…£67k expected)" came to "about £269k"
    beside "Wealden and Hastings are alternatives for legal services, not savings to add up"."""
    labels = {str(k): str(v) for k, v in load_services(recommender_model.settings)["label"].items()}
    legal = recommender_model.recommend(Query("Rother", service="legal", k=2))
    other = next(
        r
        for r in recommender_model.recommend(Query("Rother", k=20))
        if r.service != "legal" and not r.existing
    )
    best = [*[r for r in legal if not r.existing][:2], other]
    assert len(best) == 3
    text = briefing.summary("Rother", best, [], labels)
    kept = [max(best[:2], key=lambda r: r.expected_savings_gbp or 0.0), other]
    total = money(sum(r.expected_savings_gbp or 0.0 for r in kept))
    wrong = money(sum(r.expected_savings_gbp or 0.0 for r in best))
    assert f"they come to about {total} a year in expected savings" in text
    assert wrong == total or f"about {wrong} a year" not in text
    assert "Counting only the best partner for each service (" in text
    assert f"{kept[0].partner_name} for legal services" in text
    assert "are alternatives for legal services, not savings to add up" in text
    # Different services only: every one counts, and no word of alternatives.
    alone = briefing.summary("Rother", [best[0], other], [], labels)
    assert "Counting only" not in alone and "alternatives" not in alone
    both = money(sum(r.expected_savings_gbp or 0.0 for r in (best[0], other)))
    assert f"Weighed by their chances they come to about {both} a year" in alone
    # One partner best for two services: named once ("(Wealden for legal services, and
    # Wealden for ICT and digital)" said it twice).
    ict = [r for r in recommender_model.recommend(Query("Rother", k=30)) if not r.existing]
    same = next(r for r in ict if r.partner_code == kept[0].partner_code and r.service != "legal")
    twice = briefing.summary("Rother", [*best[:2], same], [], labels)
    said = twice.split("Counting only the best partner for each service (", 1)[1].split(")")[0]
    assert said.count(kept[0].partner_name) == 1, said
    assert said.startswith(f"{kept[0].partner_name} for legal services")


def test_existing_arrangements_list_each_partner_once(recommender_model: Recommender) -> None:
    """Kent's briefing listed Kent Total Place's partners with "Kent police force area, Kent
    police force area" (Kent Police Authority and Kent Police)."""
    context = briefing_context(recommender_model, "Kent")
    html_text = html.unescape(briefing_document(recommender_model, "Kent", fmt=".html").decode())
    total = next(a for a in context["existing"] if a["name"].startswith("Kent Total Place"))
    codes = [m["body_code"] for m in total["members"] if m["body_code"]]
    assert len(codes) > len(set(codes)), "Kent Total Place names a body twice"
    listed = briefing.listed_partners(total["members"])
    row = html_text[html_text.index(total["name"]) :].split("</tr>")[0]
    assert ", ".join(p["label"] for p in listed) in row
    assert "Kent police force area, Kent police force area" not in row


def test_the_summary_names_fire_and_police_bodies_with_the(
    recommender_model: Recommender,
) -> None:
    """ "Kent police force area's three best opportunities are: legal services with Kent Fire
    and Rescue Authority …"."""
    found = recommender_model.recommend(Query("E23000032", k=10))
    text = briefing.summary("Kent police force area", found, [], {}, kind="police")
    assert text.startswith("The Kent police force area's ")
    named = {r.partner_name for r in found if not r.existing and r.partner_kind != "council"}
    assert named
    for name in named:
        if name in text:
            assert re.search(rf"(?<![Tt]he ){re.escape(name)}", text) is None, text


def test_the_opportunities_name_a_fire_body_with_the_too(
    recommender_model: Recommender, trained_settings: Settings
) -> None:
    """ "should Kent Fire and Rescue Authority share the service" in the briefing, where the
    page says "the"."""
    context = briefing.briefing_context(recommender_model, "E31000022", settings=trained_settings)
    text = briefing.render_html(context, trained_settings)
    assert "should the Kent Fire and Rescue Authority share the service" in text


def test_print_says_the_headline_verdict_where_mrr_alone_would_read_as_a_win(
    recommender_model: Recommender,
) -> None:
    """The headline sentence judged by MRR alone: clear of every baseline there, it said "the
    model beats every baseline on this measure, beyond the noise", where the model page,
    judging every measure, says NOT BETTER (a baseline ahead on hit@10)."""
    rows = [
        {"protocol": "lopo", "query": "service", "pair_kind": "all", "method": m, "mrr": mrr,
         "hit@1": 0.4, "hit@10": hit10, "arrangements": 269}
        | ({"model_minus": {"mrr": [0.01, 0.05], "hit@1": [0.0, 0.1]}} if m != "model" else {})
        for m, mrr, hit10 in (("model", 0.62, 0.9), ("plain_logit", 0.59, 0.93))
    ]  # fmt: skip
    headline = briefing._headline({"evaluation": {"ranking": rows}})
    assert headline is not None and not headline["noise"] and not headline["beaten"]
    assert headline["verdict"] == "NOT BETTER"
    text = _rendered_under(recommender_model, headline)
    assert (
        "the model beats every baseline on this measure, beyond the noise, though judged on "
        "every measure, as the model page judges it, the verdict is NOT BETTER."
    ) in text
