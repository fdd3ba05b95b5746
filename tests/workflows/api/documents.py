"""Small workflow documents used by the API tests."""

from __future__ import annotations

from pathlib import Path

HELLO = """\
apiVersion: mbflow/v1
kind: Workflow
# A person's comment survives storage and export.
metadata:
  name: hello
  title: Hello
  tags: [demo, crm]
spec:
  nodes:
    - id: start
      type: noop
    - id: shape
      type: transform
      config:
        mapping:
          greeting: "Hello {{ input.name }}"
  edges:
    - {from: start, to: shape}
"""


def hello(name: str = "hello", greeting: str = "Hello", tags: str = "[demo, crm]") -> str:
    return (HELLO.replace("name: hello", f"name: {name}").replace('"Hello {{', f'"{greeting} {{{{')
            .replace("[demo, crm]", tags))


CYCLE = """\
apiVersion: mbflow/v1
kind: Workflow
metadata: {name: loop}
spec:
  nodes:
    - {id: a, type: noop}
    - {id: b, type: noop}
    - {id: c, type: noop}
  edges:
    - {from: a, to: b}
    - {from: b, to: c}
    - {from: c, to: b}
"""

SPEC_FIXTURES = Path(__file__).resolve().parents[1] / "spec" / "fixtures"


def magic_flow_user_onboarding() -> str:
    """The Magic Flow v2 `user-onboarding` example, as written in the seed document (kept byte for
    byte as a fixture beside the dialect tests)."""
    return (SPEC_FIXTURES / "magic_flow_seed_user_onboarding.yaml").read_text()


def magic_flow_user_onboarding_context() -> str:
    """The seed's `context.yaml` for `user-onboarding` (a Magic Flow WorkflowContext), byte for byte."""
    return (SPEC_FIXTURES / "magic_flow_seed_user_onboarding_context.yaml").read_text()
