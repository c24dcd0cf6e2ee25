"""The endpoints' dependencies: the running instance reaches them through the app's state,
and only while BentoML keeps it; a test can replace one with ``dependency_overrides``."""

from __future__ import annotations

import gc
from typing import Any

import bentoml
import pytest
from starlette.testclient import TestClient

from crossplan.serving.api import api
from crossplan.serving.deps import get_policy, service_of
from crossplan.serving.sharing import OPERATOR, SharingPolicy


def test_the_app_holds_the_running_instance_and_lets_it_go(
    asgi_app: Any, served: dict[str, str]
) -> None:
    with TestClient(asgi_app) as client:
        running = bentoml.get_current_service()
        assert service_of(api) is running
        me = client.get("/me", headers={"Authorization": f"Bearer {served['reporter']}"})
        assert me.status_code == 200 and me.json()["region_level"] is not None
        del running
    gc.collect()
    # The instance's life is BentoML's: once its lifespan ends, the app holds no service.
    with pytest.raises(RuntimeError, match="no service instance is running"):
        service_of(api)


def test_a_test_can_replace_the_policy_of_every_endpoint(
    asgi_app: Any, served: dict[str, str]
) -> None:
    headers = {"Authorization": f"Bearer {served['reporter']}"}
    with TestClient(asgi_app) as client:
        own = client.get("/me", headers=headers).json()["region_level"]
        snapshot = service_of(api).current()
        api.dependency_overrides[get_policy] = lambda: SharingPolicy(snapshot.panel, OPERATOR)
        try:
            # the operator's policy reads every region region by region: no list to keep to
            assert client.get("/me", headers=headers).json()["region_level"] is None
        finally:
            api.dependency_overrides.clear()
        assert client.get("/me", headers=headers).json()["region_level"] == own
