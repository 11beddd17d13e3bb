"""factory_boy factories for partnerships' own tables (partnerships and memberships themselves: schools'
factories; users: accounts' factories)."""

from __future__ import annotations

import datetime as dt

import factory

from accounts.tests.factories import UserFactory
from notifications.models import Notification
from partnerships.models import Activity, Designation, DesignationKind, IsspPost, MatSeat, PartnershipResult
from schools.tests.factories import MembershipFactory, PartnershipFactory, SchoolFactory


class MatSeatFactory(factory.django.DjangoModelFactory):
    """A school's seat for its open MAT membership (by default the membership's school)."""

    class Meta:
        model = MatSeat

    membership = factory.SubFactory(MembershipFactory)
    school = factory.LazyAttribute(lambda o: o.membership.school)


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    user = factory.SubFactory(UserFactory)
    text = factory.Sequence(lambda n: f"Notification {n}")
    url = ""


class IsspPostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IsspPost

    kind = IsspPost.OFFER
    school = factory.SubFactory(SchoolFactory)
    activity = Activity.SUBJECT
    description = ""
    max_miles = 25


class DesignationFactory(factory.django.DjangoModelFactory):
    """A recorded NLE designation at a school (pass `person_name` for a named system leader)."""

    class Meta:
        model = Designation

    kind = DesignationKind.NLE
    school = factory.SubFactory(SchoolFactory)
    person_name = ""
    valid_from = dt.date(2020, 9, 1)
    valid_to = None


class PartnershipResultFactory(factory.django.DjangoModelFactory):
    """One stored trust-level value of a DfE MAT file (`measure` is the key stage prefix + the DfE field)."""

    class Meta:
        model = PartnershipResult

    partnership = factory.SubFactory(PartnershipFactory)
    year = 2025
    measure = "KS2_PRWM_EXP_WGTAVG"
    value = 60.0
    note = ""
    source = "england_ks2-mats-performance_2024-25.csv"
