"""The service taxonomy (``recommender.core.services``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from recommender.core.config import Settings
from recommender.core.errors import InvalidInput, SourceError
from recommender.core.services import check_service, load_services, service_ids


def test_ids_keep_the_file_order(register_settings: Settings) -> None:
    ids = service_ids(register_settings)
    assert ids[:3] == ("procurement", "revenues_benefits", "legal")
    assert ids[-1] == "other"


def test_load_services_is_indexed_by_id(register_settings: Settings) -> None:
    frame = load_services(register_settings)
    assert frame.loc["legal", "office"] == "back"
    assert list(frame.columns) == ["label", "office", "delivered_by", "description"]


def test_check_service_accepts_any_case_and_suggests(register_settings: Settings) -> None:
    assert check_service(" Legal ", register_settings) == "legal"
    with pytest.raises(InvalidInput) as caught:
        check_service("revenues and benefit", register_settings)
    assert caught.value.field == "service"
    assert caught.value.suggestions[0] == "revenues_benefits"
    assert "'revenues and benefit'" in caught.value.detail


def test_the_committed_taxonomy_is_the_issue_list() -> None:
    ids = service_ids(Settings())
    assert len(ids) == 16 and ids[0] == "procurement" and "property_assets" in ids


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id,label\nx,X\n", "missing column"),
        ("id,label,office,delivered_by,description\nx,X,middle,district,d\n", "'middle'"),
        ("id,label,office,delivered_by,description\nx,X,back,,d\nx,Y,back,,d\n", "duplicate"),
    ],
)
def test_a_malformed_taxonomy_is_named(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "services.csv").write_text(text)
    with pytest.raises(SourceError, match=message):
        service_ids(Settings(root=tmp_path, data_dir=tmp_path))


def test_labels_name_their_ids(register_settings: Settings) -> None:
    from recommender.core.services import service_labels

    labels = service_labels(register_settings)
    frame = load_services(register_settings)
    assert sorted(labels.values()) == sorted(service_ids(register_settings))
    for key, service in labels.items():
        assert key == str(frame.loc[service, "label"]).casefold()
