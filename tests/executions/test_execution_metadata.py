"""The Magic Flow seed's names on executions: ``execution_id``, ``tracking_url`` and ``metadata``
(stored, returned, filterable with ``?metadata.<key>=<value>``)."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from tests.executions.conftest import Store
from tests.executions.test_engine_basics import CHAIN

SEED_METADATA = {"source": "web", "user_agent": "Mozilla/5.0...", "priority": 2, "vip": True,
                 "origin": {"campaign": "spring"}, "contains": "x", "note": None}


def _start(client: APIClient, metadata: Any, path: str = "/api/v1/workflows/chain/execute") -> dict[str, Any]:
    response = client.post(path, {"input": {"n": 1}, "metadata": metadata, "wait": 10}, format="json")
    assert response.status_code in (200, 201), response.json()
    return response.json()


def _listed(client: APIClient, query: str) -> list[str]:
    response = client.get(f"/api/v1/executions?{query}")
    assert response.status_code == 200, response.json()
    return [item["id"] for item in response.json()["results"]]


def test_the_seed_execute_call_gets_its_names_back(embedded: object, store: Store, editor: APIClient) -> None:
    store(CHAIN)
    started = _start(editor, SEED_METADATA)
    assert started["execution_id"] == started["id"]
    assert started["tracking_url"] == f"/executions/{started['id']}"
    assert started["metadata"] == SEED_METADATA
    detail = editor.get(f"/api/v1/executions/{started['id']}").json()
    assert detail["metadata"] == SEED_METADATA
    assert detail["execution_id"] == started["id"]
    listed = editor.get("/api/v1/executions").json()["results"][0]
    assert (listed["id"], listed["metadata"], listed["tracking_url"]) == (
        started["id"], SEED_METADATA, f"/executions/{started['id']}")


def test_without_metadata_it_is_an_empty_object(embedded: object, store: Store, editor: APIClient) -> None:
    store(CHAIN)
    response = editor.post("/api/v1/executions", {"workflow": "chain", "input": {"n": 1}}, format="json")
    assert response.json()["metadata"] == {}


def test_the_tracking_url_is_absolute_with_a_public_url(embedded: object, store: Store, editor: APIClient,
                                                        settings: Any) -> None:
    settings.MBFLOW_PUBLIC_URL = "https://flows.example.com"
    store(CHAIN)
    started = _start(editor, {})
    assert started["tracking_url"] == f"https://flows.example.com/executions/{started['id']}"


def test_every_start_route_stores_metadata(embedded: object, store: Store, editor: APIClient) -> None:
    store(CHAIN)
    by_list = editor.post("/api/v1/executions", {"workflow": "chain", "input": {"n": 1},
                                                 "metadata": {"route": "list"}}, format="json").json()
    assert by_list["metadata"] == {"route": "list"}
    adhoc = editor.post("/api/v1/executions/adhoc", {"yaml": CHAIN, "input": {"n": 1}, "metadata": {"route": "adhoc"}},
                        format="json")
    assert adhoc.status_code == 201, adhoc.json()
    assert adhoc.json()["metadata"] == {"route": "adhoc"}
    assert editor.get(f"/api/v1/executions/{adhoc.json()['id']}").json()["metadata"] == {"route": "adhoc"}


def test_metadata_that_is_not_an_object_is_refused_naming_it(embedded: object, store: Store,
                                                             editor: APIClient) -> None:
    store(CHAIN)
    for value in (["web"], "web", 3):
        response = editor.post("/api/v1/workflows/chain/execute", {"input": {"n": 1}, "metadata": value},
                               format="json")
        assert response.status_code == 400, value
        assert "metadata" in response.json()["error"]["details"]["fields"], response.json()


def test_the_list_filters_by_metadata_keys_and_values(embedded: object, store: Store, editor: APIClient) -> None:
    store(CHAIN)
    web = _start(editor, SEED_METADATA)["id"]
    mobile = _start(editor, {"source": "mobile", "priority": "2", "origin": {"campaign": "autumn"}})["id"]
    bare = _start(editor, {})["id"]
    assert _listed(editor, "metadata.source=web") == [web]
    assert _listed(editor, "metadata.source=mobile") == [mobile]
    assert _listed(editor, "metadata.source=nowhere") == []
    # A number matches the number and the same text; true, null as JSON spells them.
    assert set(_listed(editor, "metadata.priority=2")) == {web, mobile}
    assert _listed(editor, "metadata.vip=true") == [web]
    assert _listed(editor, "metadata.note=null") == [web]
    # A dotted path reaches inside objects; a key named like a lookup is a key.
    assert _listed(editor, "metadata.origin.campaign=autumn") == [mobile]
    assert _listed(editor, "metadata.contains=x") == [web]
    # Several filters all apply, and with the other filters.
    assert _listed(editor, "metadata.source=web&metadata.priority=2") == [web]
    assert _listed(editor, "metadata.source=web&status=succeeded&workflow=chain") == [web]
    assert set(_listed(editor, "workflow=chain")) == {web, mobile, bare}


def test_a_malformed_metadata_filter_is_a_400_naming_it(embedded: object, editor: APIClient) -> None:
    for name in ("metadata.", "metadata.a..b", "metadata.a."):
        response = editor.get(f"/api/v1/executions?{name}=1")
        assert response.status_code == 400, name
        assert name in response.json()["error"]["details"]["fields"]


def test_another_tenant_filtering_by_metadata_sees_nothing(embedded: object, store: Store, editor: APIClient,
                                                           outsider: APIClient) -> None:
    store(CHAIN)
    _start(editor, SEED_METADATA)
    assert _listed(outsider, "metadata.source=web") == []
