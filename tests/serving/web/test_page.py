"""The page's routes, headers and data endpoints, through the ASGI app in process.

One service (:func:`shared`) answers the whole module: nothing here changes its state.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from shapely.geometry import shape
from starlette.testclient import TestClient

from crossplan.pipelines.contract import Dataset
from crossplan.serving.page import WEB_DIR
from crossplan.serving.security import content_security_policy, tile_origin

ROOT = Path(__file__).resolve().parents[3]
_ASSET = re.compile(r'(?:src|href)="([^"]+)"')
_OUTSIDE = re.compile(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", re.IGNORECASE)
_ALLOWED_SOURCES = {"'self'", "'none'", "data:", "blob:"}


Shared = tuple[TestClient, dict[str, str]]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_home_page_is_the_map_and_the_manual_is_one_click_away(shared: Shared) -> None:
    client, _ = shared
    home = client.get("/")
    assert home.status_code == 200
    assert home.headers["content-type"].startswith("text/html")
    assert "<title>crossplan" in home.text
    assert "BentoML Prediction Service" not in home.text
    assert "googletagmanager" not in home.text
    assert 'href="/docs"' in home.text
    manual = client.get("/docs")
    assert manual.status_code == 200
    assert "/web/vendor/swagger-ui-5.35.0/swagger-ui-bundle.js" in manual.text
    assert client.get("/docs.json").json()["paths"]  # what the manual reads
    # BentoML's stock page is gone for every method, not only GET
    for method in ("POST", "PUT", "DELETE", "OPTIONS"):
        assert "googletagmanager" not in client.request(method, "/").text


def _html_pages(client: TestClient) -> dict[str, str]:
    pages = {path: client.get(path).text for path in ("/", "/docs")}
    for file in WEB_DIR.rglob("*.html"):
        path = "/web/" + file.relative_to(WEB_DIR).as_posix()
        pages[path] = client.get(path).text
    return pages


def test_no_served_html_names_an_outside_host(shared: Shared) -> None:
    client, _ = shared
    pages = _html_pages(client)
    assert set(pages) >= {"/", "/docs", "/web/index.html", "/web/docs.html"}
    for path, html in pages.items():
        assert _OUTSIDE.findall(html) == [], path
        for asset in _ASSET.findall(html):
            if asset.startswith("#"):  # a place on the same page
                continue
            assert asset.startswith("/") and not asset.startswith("//"), (path, asset)
            assert client.get(asset).status_code == 200, (path, asset)


def test_the_pages_own_code_loads_nothing_from_elsewhere() -> None:
    own = [f for f in WEB_DIR.rglob("*") if f.suffix in {".js", ".css"} and "vendor" not in f.parts]
    assert own
    for file in own:
        names = set(_OUTSIDE.findall(file.read_text()))
        assert names <= {"http://www.w3.org"}, file  # the SVG namespace is a name, not a load


# A number written straight before a plural noun ("${n} alerts"): "1 alerts" when n is 1.
_BARE_PLURAL = re.compile(
    r"\$\{[^{}$]*\} (?:[a-z]+ )?(?:alerts|regions|shifts|periods|days|cells)\b"
)
# An empty list said as a list of one item ("1. No alert…").
_EMPTY_ITEM = re.compile(r'h\("li", \{[^}]*\}, "No ')


def test_the_pages_words_count_and_say_empty_lists_as_sentences() -> None:
    own = [f for f in (WEB_DIR / "js").glob("*.js")]
    for file in own:
        text = file.read_text()
        assert not _BARE_PLURAL.findall(text), file  # dom.js count(n, noun) instead
        assert not _EMPTY_ITEM.findall(text), file


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 200),  # the page
        ("GET", "/docs", 200),  # the manual
        ("GET", "/web/js/main.js", 200),  # the page's code
        ("GET", "/docs.json", 200),  # BentoML's own routes too
        ("GET", "/healthz", 200),
        ("GET", "/static_content/index.css", 200),
        ("POST", "/forecast", 401),  # the API, even when it refuses
        ("GET", "/nowhere", 404),
    ],
)
def test_every_response_forbids_other_origins(
    shared: Shared, method: str, path: str, status: int
) -> None:
    client, _ = shared
    r = client.request(method, path)
    assert r.status_code == status
    policy = dict(
        (d.split()[0], d.split()[1:]) for d in r.headers["content-security-policy"].split("; ")
    )
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]  # no inline script, no eval
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert {s for sources in policy.values() for s in sources} <= _ALLOWED_SOURCES
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        (None, None),  # closed network: no basemap
        ("https://tiles.example.org/{z}/{x}/{y}.png", "https://tiles.example.org"),
        ("http://10.0.0.5:8080/osm/{z}/{x}/{y}.png", "http://10.0.0.5:8080"),
        ("https://{s}.tiles.example.org/{z}/{x}/{y}.png", "https://*.tiles.example.org"),
        ("file:///tiles/{z}/{x}/{y}.png", None),  # not something a browser may fetch
    ],
)
def test_the_tile_server_is_the_only_other_origin_and_only_for_images(
    url: str | None, origin: str | None
) -> None:
    assert tile_origin(url) == origin
    directives = dict(
        (d.split()[0], d.split()[1:]) for d in content_security_policy(url).split("; ")
    )
    outside = {k: [s for s in v if s not in _ALLOWED_SOURCES] for k, v in directives.items()}
    assert {k: v for k, v in outside.items() if v} == ({"img-src": [origin]} if origin else {})


def test_the_page_learns_the_basemap_from_the_environment(
    shared: Shared, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _ = shared
    assert client.get("/web/config.json").json()["tile_url"] is None
    monkeypatch.setenv("CROSSPLAN_TILE_URL", "https://tiles.example.org/{z}/{x}/{y}.png")
    assert client.get("/web/config.json").json()["tile_url"].startswith("https://tiles.")


def test_vendored_libraries_ship_with_their_licences_in_package_and_bento() -> None:
    vendored = [d for d in (WEB_DIR / "vendor").iterdir() if d.is_dir()]
    assert {d.name.rsplit("-", 1)[0] for d in vendored} == {"leaflet", "swagger-ui"}
    for library in vendored:
        assert (library / "LICENSE").read_text().strip(), library
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"crossplan.serving" = ["web/**/*"]' in pyproject
    bento = yaml.safe_load((ROOT / "bentofile.yaml").read_text())
    assert "serving/web/**" in bento["include"]


@pytest.mark.parametrize(
    ("role", "may"),
    [
        ("analyst", ["read"]),
        ("planner", ["read", "plan"]),
        ("admin", ["submit", "read", "plan", "admin"]),  # roles build on each other
    ],
)
def test_me_says_who_holds_the_key_and_what_it_may_do(
    shared: Shared, role: str, may: list[str]
) -> None:
    client, keys = shared
    r = client.get("/me", headers=bearer(keys[role]))
    assert r.status_code == 200
    assert r.json() == {
        "name": role,
        "role": role,
        "country": None,
        "agency": None,
        "scope": None,  # the operator's plans every unit, binding no one
        "may": may,
        "region_level": None,  # the operator's key reads every region
    }


def test_me_says_which_regions_a_country_key_reads_region_by_region(
    shared: Shared, tiny_dataset: Dataset
) -> None:
    client, keys = shared
    me = client.get("/me", headers=bearer(keys["reporter"])).json()  # a key of GRC
    assert (me["country"], me["may"]) == ("GRC", ["submit"])
    regions = tiny_dataset.regions
    own = set(regions.loc[regions["country"] == "GRC", "region_id"])
    assert tiny_dataset.resources is not None
    partner = {
        r for a in tiny_dataset.resources.agreements if "GRC" in a.countries for r in a.regions
    }
    assert me["region_level"] == sorted(own | partner)  # the page draws the rest by country


def test_the_page_reads_regions_counts_and_resources(shared: Shared, tiny_dataset: Dataset) -> None:
    client, keys = shared
    analyst = bearer(keys["analyst"])
    regions = client.get("/regions", headers=analyst)
    assert regions.status_code == 200
    assert regions.headers["content-type"] == "application/geo+json"
    features = regions.json()["features"]
    assert [f["id"] for f in features] == list(tiny_dataset.regions["region_id"])
    assert {f["geometry"]["type"] for f in features} <= {"Polygon", "MultiPolygon"}
    assert set(features[0]["properties"]) == {"region_id", "country", "name", "kind"}

    observed = client.get("/observed", params={"periods": 3}, headers=analyst).json()
    last = [p.strftime("%Y-%m-%d") for p in tiny_dataset.periods[-3:]]
    assert observed["periods"] == last
    inc = tiny_dataset.incidents[tiny_dataset.incidents["period"].isin(tiny_dataset.periods[-3:])]
    assert len(observed["rows"]) == len(inc)  # a missing cell has no row
    assert all(r["observed"] == r["reported"] + r["detected"] for r in observed["rows"])
    assert {r["period"] for r in observed["rows"]} <= set(last)

    assert tiny_dataset.resources is not None
    served = client.get("/resources", headers=analyst).json()
    assert served == tiny_dataset.resources.model_dump(mode="json")


def test_the_countries_are_the_union_of_their_regions(
    shared: Shared, tiny_dataset: Dataset
) -> None:
    client, keys = shared
    answer = client.get("/countries", headers=bearer(keys["reporter"]))  # any role
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/geo+json"
    features = answer.json()["features"]
    regions = tiny_dataset.regions
    assert [f["id"] for f in features] == sorted(regions["country"].unique())
    for feature in features:
        country = shape(feature["geometry"])
        mine = [g for g, c in zip(tiny_dataset.geometries, regions["country"], strict=True)
                if c == feature["id"]]  # fmt: skip
        assert feature["properties"] == {"country": feature["id"], "regions": len(mine)}
        # one outline, no seam between neighbours: the regions' area, and each region inside
        assert country.area == pytest.approx(sum(g.area for g in mine), rel=1e-6)
        assert all(country.buffer(1e-6).contains(g) for g in mine)


@pytest.mark.parametrize("path", ["/me", "/regions", "/countries", "/observed", "/resources"])
def test_the_page_endpoints_need_a_key(shared: Shared, path: str) -> None:
    client, _ = shared
    r = client.get(path)
    assert r.status_code == 401
    assert "key" in r.json()["error"]


@pytest.mark.parametrize("periods", [0, 521, "many"])
def test_observed_periods_are_bounded(shared: Shared, periods: object) -> None:
    client, keys = shared
    r = client.get("/observed", params={"periods": periods}, headers=bearer(keys["analyst"]))
    assert r.status_code == 400
    assert [p["field"] for p in r.json()["problems"]] == ["periods"]


def test_the_manual_documents_the_page_endpoints(shared: Shared) -> None:
    client, _ = shared
    paths = client.get("/docs.json").json()["paths"]
    for path in ("/me", "/regions", "/countries", "/observed", "/resources"):
        assert path in paths
