"""Every page over a filled registry, the 404 and empty-store pages, escaping."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lifelong.registry import Registry, open_registry
from lifelong.ui.lineage_view import PAGE_SIZE, layout

MakeClient = Callable[..., TestClient]


def test_every_page_answers_with_its_content(client: TestClient, filled: Registry) -> None:
    champion = filled.store.aliases()["champion"]
    rejected = next(v for v in filled.versions() if v.verdict["decision"] == "reject")
    expected = {
        "/ui/": [f'data-version="{champion}"', "champion"],
        f"/ui/versions/{champion}": ["Gate verdict", "per-intent", "Confusion", "Forgetting"],
        f"/ui/versions/{rejected.label}": ["rejected by the gate", "below the champion"],
        "/ui/metrics": ["Metrics along", "fig-metrics"],
        "/ui/metrics?line=major%201": ["every version of major 1"],
        "/ui/compare?a=1.0&b=1.1": ["metrics.accuracy", "differing fields"],
        "/ui/cycles": ["volume", 'class="outcome-rejected"'],
        "/ui/monitoring": ["fig-traffic", "fig-confidence", "fig-feedback", "fig-shadow"],
    }
    for path, needles in expected.items():
        response = client.get(path)
        assert response.status_code == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"]
        for needle in needles:
            assert needle in response.text, (path, needle)


def test_rejected_versions_are_drawn_rejected(filled: Registry) -> None:
    view = layout(filled.versions(), filled.store.aliases())
    by_label = {node.label: node for node in view.nodes}
    for version in filled.versions():
        rejected = version.verdict is not None and version.verdict["decision"] != "promote"
        assert ("rejected" in by_label[version.label].classes.split()) == rejected
    assert len(view.edges) == sum(v.parent is not None for v in filled.versions())


def test_a_large_lineage_is_paged_with_links_to_parents_on_earlier_pages(
    filled: Registry,
) -> None:
    versions = filled.versions()
    line = [replace(versions[0], minor=i, parent=f"1.{i - 1}" if i else None) for i in range(300)]
    line = [replace(v, edge="finetune" if v.parent else None) for v in line]
    second = layout(line, {}, page=2)
    assert second.pages == -(-300 // PAGE_SIZE)
    assert second.nodes[0].label == f"1.{PAGE_SIZE}"
    assert [s.parent for s in second.stubs] == [f"1.{PAGE_SIZE - 1}"]
    assert len({n.y for n in second.nodes}) == 1  # a straight line stays one row


def test_compare_differences_only_toggle(client: TestClient) -> None:
    only = client.get("/ui/compare?a=1.0&b=1.1&diff=true").text
    every = client.get("/ui/compare?a=1.0&b=1.1&diff=false").text
    assert only.count("<tr") < every.count("<tr")
    assert 'class="differs"' in only
    assert re.search(r"<tr><td>config\.pipeline\.name</td>", every)  # equal in both
    assert "<td>config.pipeline.name</td>" not in only


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/ui/versions/9.9", "version 9.9 does not exist"),
        ("/ui/versions/nonsense", "is not a version: expected MAJOR.MINOR"),
        ("/ui/compare?a=1.0&b=77.1", "version 77.1 does not exist"),
        ("/ui/metrics?line=4.4", "version 4.4 does not exist"),
        ("/ui/no/such/page", "no page /ui/no/such/page"),
    ],
)
def test_unknown_versions_give_a_404_page(client: TestClient, path: str, says: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert says in response.text
    assert 'href="/ui/"' in response.text


def test_an_empty_store_says_what_to_run_first(tmp_path: Path, make_client: MakeClient) -> None:
    with open_registry(f"sqlite:///{tmp_path / 'empty.db'}", tmp_path / "a") as registry:
        client = make_client(registry)
        for path in ("/ui/", "/ui/metrics", "/ui/compare"):
            response = client.get(path)
            assert response.status_code == 200
            assert "lifelong train" in response.text
        assert "lifelong serve" in client.get("/ui/monitoring").text
        assert "lifelong update" in client.get("/ui/cycles").text


def test_html_in_intent_names_and_notes_is_escaped(
    client: TestClient, filled: Registry, evil: str, tmp_path: Path
) -> None:
    champion = filled.store.aliases()["champion"]
    noted = filled.register(
        tmp_path / "bundle",
        snapshot_id=filled.resolve(champion).snapshot_id,
        config={evil: evil},
        parent=champion,
        edge="finetune",
        notes=evil,
    )
    paths = [f"/ui/versions/{champion}", f"/ui/versions/{noted.label}", "/ui/"]
    paths += [f"/ui/compare?a=1.0&b={noted.label}", "/ui/monitoring", "/ui/cycles"]
    pages = [client.get(p).text for p in paths]
    for text in pages:
        assert evil not in text
        assert "<script>alert" not in text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in pages[0]
    assert "\\u003cscript\\u003e" in pages[0]  # inside the confusion figure's JSON


def test_static_files_are_local_and_cached(client: TestClient) -> None:
    response = client.get("/ui/static/plotly.min.js")
    assert response.status_code == 200
    assert len(response.content) > 1_000_000
    assert "max-age=31536000" in response.headers["cache-control"]
    again = client.get(
        "/ui/static/plotly.min.js", headers={"If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304
    assert client.get("/ui/static/secrets.txt").status_code == 404
    page = client.get("/ui/").text
    assert "https://" not in page.replace("https://github", "")  # nothing from a CDN
