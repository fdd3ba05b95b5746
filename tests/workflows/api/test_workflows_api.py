"""Workflows CRUD, versions, diff, rollback, export/import and validate through the API."""

from __future__ import annotations

from rest_framework.test import APIClient

from tests.workflows.api.documents import CYCLE, hello, magic_flow_user_onboarding
from workflows.models import Workflow


def create(client: APIClient, text: str, message: str = "") -> dict:
    response = client.post("/api/v1/workflows", {"yaml": text, "message": message}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_it_creates_a_workflow_from_raw_yaml_and_keeps_the_text(editor: APIClient) -> None:
    response = editor.post("/api/v1/workflows?message=first", hello(), content_type="application/yaml")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "hello"
    assert body["title"] == "Hello"
    assert body["tags"] == ["demo", "crm"]
    assert body["version"]["number"] == 1
    assert body["version"]["message"] == "first"
    assert body["yaml"] == hello()
    assert [n["id"] for n in body["spec"]["spec"]["nodes"]] == ["start", "shape"]


def test_it_creates_a_workflow_from_a_json_document(editor: APIClient) -> None:
    document = {
        "apiVersion": "mbflow/v1", "kind": "Workflow", "metadata": {"name": "from-json"},
        "spec": {"nodes": [{"id": "a", "type": "noop"}], "edges": []},
    }
    response = editor.post("/api/v1/workflows", {"document": document}, format="json")
    assert response.status_code == 201, response.json()
    assert "name: from-json" in response.json()["yaml"]


def test_it_finds_a_workflow_by_id_and_by_name(editor: APIClient) -> None:
    created = create(editor, hello())
    assert editor.get(f"/api/v1/workflows/{created['id']}").json()["name"] == "hello"
    assert editor.get("/api/v1/workflows/hello/").json()["id"] == created["id"]


def test_list_filters_by_search_tag_and_archived(editor: APIClient) -> None:
    create(editor, hello(name="billing-sync", tags="[finance]"))
    create(editor, hello(name="crm-sync", tags="[crm]"))
    archived = create(editor, hello(name="old-flow", tags="[crm]"))
    editor.patch(f"/api/v1/workflows/{archived['id']}", {"archived": True}, format="json")

    def names(query: str) -> list[str]:
        body = editor.get(f"/api/v1/workflows{query}").json()
        assert set(body) >= {"count", "results", "next", "previous"}
        return [w["name"] for w in body["results"]]

    assert names("") == ["billing-sync", "crm-sync"]
    assert names("?tag=crm") == ["crm-sync"]
    assert names("?search=billing") == ["billing-sync"]
    assert names("?archived=true") == ["old-flow"]
    assert editor.get("/api/v1/workflows?page_size=1").json()["count"] == 2


def test_update_creates_a_new_immutable_version(editor: APIClient) -> None:
    created = create(editor, hello())
    response = editor.put(f"/api/v1/workflows/{created['id']}", {"yaml": hello(greeting="Hi"), "message": "hi"},
                          format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["version"]["number"] == 2
    versions = editor.get(f"/api/v1/workflows/{created['id']}/versions").json()
    assert [v["number"] for v in versions["results"]] == [2, 1]
    first = editor.get(f"/api/v1/workflows/{created['id']}/versions/1").json()
    assert '"Hello {{ input.name }}"' in first["yaml"]


def test_diff_names_changed_nodes_and_gives_a_unified_diff(editor: APIClient) -> None:
    created = create(editor, hello())
    changed = hello(greeting="Hi").replace("  edges:", "    - {id: extra, type: noop}\n  edges:")
    editor.put(f"/api/v1/workflows/{created['id']}", {"yaml": changed}, format="json")
    diff = editor.get(f"/api/v1/workflows/{created['id']}/diff?from=1&to=2").json()
    assert diff["nodes"] == {"added": ["extra"], "removed": [], "changed": ["shape"]}
    assert diff["edges"] == {"added": [], "removed": [], "changed": []}
    assert '-          greeting: "Hello {{ input.name }}"' in diff["unified"]
    assert '+          greeting: "Hi {{ input.name }}"' in diff["unified"]


def test_rollback_adds_a_version_equal_to_the_old_one(editor: APIClient) -> None:
    created = create(editor, hello())
    editor.put(f"/api/v1/workflows/{created['id']}", {"yaml": hello(greeting="Hi")}, format="json")
    response = editor.post(f"/api/v1/workflows/{created['id']}/rollback", {"version": 1}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["version"]["number"] == 3
    assert body["yaml"] == hello()
    assert body["version"]["message"] == "Rollback to version 1"


def test_export_import_export_is_byte_stable(editor: APIClient, outsider: APIClient) -> None:
    created = create(editor, hello())
    first = editor.get(f"/api/v1/workflows/{created['id']}/export")
    assert first.status_code == 200
    assert first["Content-Type"].startswith("text/yaml")
    imported = outsider.post("/api/v1/workflows/import", first.content.decode(), content_type="application/yaml")
    assert imported.status_code == 201, imported.json()
    second = outsider.get(f"/api/v1/workflows/{imported.json()['id']}/export")
    assert second.content == first.content


def test_import_takes_a_magic_flow_file_and_reports_its_dialect(editor: APIClient) -> None:
    # The seed example names steps it never defines: they are imported as placeholders, with warnings.
    response = editor.post("/api/v1/workflows/import", magic_flow_user_onboarding(),
                           content_type="application/yaml")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["name"], body["kind"], body["dialect"]) == ("user-onboarding", "Workflow", "magic_flow")
    assert [w["code"] for w in body["warnings"]] == ["dialect_undefined_step"] * 3
    assert Workflow.objects.get().name == "user-onboarding"


def test_import_takes_a_multipart_file(editor: APIClient) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("flow.yaml", hello(name="uploaded").encode(), content_type="application/yaml")
    response = editor.post("/api/v1/workflows/import", {"file": upload}, format="multipart")
    assert response.status_code == 201, response.json()
    assert response.json()["name"] == "uploaded"
    assert response.json()["dialect"] == "native"


def test_validate_reports_a_cycle_with_its_path_and_line(editor: APIClient) -> None:
    response = editor.post("/api/v1/workflows/validate", CYCLE, content_type="application/yaml")
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is False
    cycle = [e for e in body["errors"] if e["code"] == "cycle"]
    assert cycle and "b → c → b" in cycle[0]["message"]
    assert all(e["line"] for e in cycle)
    assert body["yaml"] == CYCLE


def test_validate_converts_the_magic_flow_seed_and_points_at_missing_steps(editor: APIClient) -> None:
    text = magic_flow_user_onboarding()
    response = editor.post("/api/v1/workflows/validate", {"yaml": text}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["valid"], body["kind"], body["dialect"]) == (True, "Workflow", "magic_flow")
    assert body["yaml"].startswith("apiVersion: mbflow/v1")
    lines = text.splitlines()
    for missing in ("create-guest-account", "notify-validation-error", "skip-verification"):
        found = [w for w in body["warnings"] if missing in w["message"]]
        assert found, missing
        assert found[0]["code"] == "dialect_undefined_step"
        assert missing in lines[found[0]["line"] - 1], (missing, found[0])


def test_patch_archives_and_delete_removes(editor: APIClient) -> None:
    created = create(editor, hello())
    assert editor.patch(f"/api/v1/workflows/{created['id']}", {"archived": True}, format="json").json()["archived"]
    assert editor.delete(f"/api/v1/workflows/{created['id']}").status_code == 204
    assert editor.get(f"/api/v1/workflows/{created['id']}").status_code == 404


def test_duplicate_copies_the_active_version_under_a_new_name(editor: APIClient) -> None:
    created = create(editor, hello())
    response = editor.post(f"/api/v1/workflows/{created['id']}/duplicate", {"name": "hello-copy"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["spec"]["spec"] == created["spec"]["spec"]
