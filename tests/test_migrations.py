"""The migrations describe the models as they are: a model change without its migration (an
index dropped in the model only, say) fails here instead of on a user's next ``migrate``."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db  # makemigrations reads which migrations are applied
def test_no_model_change_lacks_its_migration() -> None:
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exc:  # --check exits 1 when a migration is missing
        raise AssertionError(f"makemigrations would write:\n{out.getvalue()}") from exc
    assert "No changes detected" in out.getvalue()
