from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from workflows.models import ApiKey, Membership, Role, Tenant
from workflows.models.keys import generate_raw_key


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    slug = factory.Sequence(lambda n: f"tenant-{n}")
    name = factory.Sequence(lambda n: f"Tenant {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")

    @factory.post_generation
    def password(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        self.set_password(extracted or "pass-word-123")
        if create:
            self.save(update_fields=["password"])


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    tenant = factory.SubFactory(TenantFactory)
    role = Role.EDITOR


def make_key(tenant: Tenant, role: str = Role.EDITOR, name: str = "test key") -> tuple[ApiKey, str]:
    raw = generate_raw_key()
    key = ApiKey(tenant=tenant, name=name, role=role)
    key.set_secret(raw)
    key.save()
    return key, raw
