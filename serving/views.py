"""Read-only views of the served panel for the web page: region shapes and recent counts.

The page draws the regions itself and shows, for a clicked region, what was observed there
lately next to what is forecast; both come from the snapshot the service already holds.
"""

from __future__ import annotations

from typing import Any

from shapely.geometry import mapping

from pipelines.contract import Dataset

__all__ = ["DEFAULT_OBSERVED_PERIODS", "observed_counts", "regions_collection"]

DEFAULT_OBSERVED_PERIODS = 12
# Six decimals of a degree are about 10 cm: enough for any map, and a smaller document.
_DECIMALS = 6


def regions_collection(dataset: Dataset) -> dict[str, Any]:
    """The regions of ``dataset`` as an RFC 7946 FeatureCollection.

    Properties are ``region_id``, ``country``, ``name`` and ``kind``; the feature ``id`` is
    the ``region_id``.
    """
    features = []
    for (_, row), geom in zip(dataset.regions.iterrows(), dataset.geometries, strict=True):
        props: dict[str, str | None] = {
            "region_id": str(row["region_id"]),
            "country": str(row["country"]),
        }
        for key in ("name", "kind"):
            value = row.get(key)
            props[key] = None if value is None or value != value else str(value)
        features.append(
            {
                "type": "Feature",
                "id": props["region_id"],
                "geometry": _rounded(mapping(geom)),
                "properties": props,
            }
        )
    return {"type": "FeatureCollection", "features": features}


def observed_counts(dataset: Dataset, n_periods: int = DEFAULT_OBSERVED_PERIODS) -> dict[str, Any]:
    """Observed incidents per region, category and period over the last ``n_periods``.

    Returns
    -------
    dict
        ``periods`` (ISO dates, oldest first) and ``rows``: ``region_id, category, period,
        observed`` and, for panels with effort, ``reported, detected, effort``. A cell missing
        from the panel has no row: missing is not zero.
    """
    last = dataset.periods[-n_periods:]
    inc = dataset.incidents
    mask = inc["period"].isin(last)
    frame = inc.loc[mask, ["region_id", "category", "period"]].copy()
    frame["observed"] = dataset.observed()[mask].astype("int64")
    columns = ["reported", "detected", "effort"] if dataset.has_effort else []
    for column in columns:
        frame[column] = inc.loc[mask, column]
    frame = frame.sort_values(["region_id", "category", "period"])
    frame["period"] = frame["period"].dt.strftime("%Y-%m-%d")
    return {
        "periods": [p.strftime("%Y-%m-%d") for p in last],
        "rows": [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")],
    }


def _plain(value: Any) -> Any:
    value = value.item() if hasattr(value, "item") else value
    return None if isinstance(value, float) and value != value else value


def _rounded(geometry: Any) -> Any:
    if isinstance(geometry, dict):
        return {k: _rounded(v) for k, v in geometry.items()}
    if isinstance(geometry, list | tuple):
        return [_rounded(v) for v in geometry]
    if isinstance(geometry, float):
        return round(geometry, _DECIMALS)
    return geometry
