"""Converted YAML reads as a person would write it: an expression quoting a node id
(`nodes['validate-user']`) in double quotes, not with its single quotes doubled inside single
ones. It still reads back as the same document, in MBFlow's loader and in a YAML 1.1 reader
(PyYAML's safe_load), which is why `'on': failure` keeps its quotes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from workflows.spec import dump_yaml, load_document

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.yaml") if "context" not in p.name))
def test_a_converted_fixture_reads_well(name: str) -> None:
    converted = load_document((FIXTURES / name).read_text())
    text = dump_yaml(converted.data)
    assert "''" not in text, text
    assert load_document(text).data == converted.data == yaml.safe_load(text)


def test_quoted_node_ids_are_written_plainly_and_on_as_yaml_1_1_reads_it() -> None:
    data = {"apiVersion": "mbflow/v1", "kind": "Workflow", "metadata": {"name": "x"}, "spec": {
        "nodes": [{"id": "validate-user", "type": "noop"},
                  {"id": "b", "type": "transform", "config": {"mapping": {
                      "user": "{{ nodes['validate-user'].output }}", "word": "on", "flag": "true", "q": "it's"}}}],
        "edges": [{"from": "validate-user", "to": "b", "on": "failure"}]}}
    text = dump_yaml(data)
    assert "      'on': failure\n" in text
    assert "user: \"{{ nodes['validate-user'].output }}\"\n" in text
    assert "word: 'on'\n" in text and "flag: 'true'\n" in text and "q: it's\n" in text
    assert load_document(text).data == data == yaml.safe_load(text)
    assert dump_yaml(load_document(text).data) == text
