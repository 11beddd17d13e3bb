"""factory_boy factories for users and their roles (kernel: no domain factories are used here)."""

from __future__ import annotations

import factory
from django.conf import settings

from accounts.models import Role, RoleAssignment


class UserFactory(factory.django.DjangoModelFactory):
    """A user. The password is hashed as `create_user` would; by default none is usable (tests that sign in
    through the login form pass one, the others use `client.force_login`, which skips the slow hashing)."""

    class Meta:
        model = settings.AUTH_USER_MODEL
        skip_postgeneration_save = True

    class Params:
        superuser = factory.Trait(is_staff=True, is_superuser=True)

    username = factory.Sequence(lambda n: f"user{n}")
    email = ""
    password = factory.django.Password(None)


class RoleAssignmentFactory(factory.django.DjangoModelFactory):
    """A role of a user. Scoped roles need their scope (`school`, `partnership` or `region`) passed in; the
    default role, system leader, has none."""

    class Meta:
        model = RoleAssignment

    user = factory.SubFactory(UserFactory)
    role = Role.SYSTEM_LEADER
