"""factory_boy factories for the school register and partnerships (shared by every test suite)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory
import pytest
from django.utils import timezone

from partnerships.models import Kind, Membership, Partnership
from schools.models import (
    CensusRecord,
    ImportRun,
    Inspection,
    NationalAverage,
    Phase,
    Result,
    School,
    SchoolLink,
    Status,
)


class SchoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = School
        django_get_or_create = ("urn",)

    urn = factory.Sequence(lambda n: 100000 + n)
    name = factory.Sequence(lambda n: f"Test School {n}")
    la_code = 330
    estab = factory.Sequence(lambda n: 2000 + n % 8000)
    laestab = factory.LazyAttribute(lambda o: o.la_code * 10000 + o.estab if o.la_code and o.estab else None)
    la_name = "Birmingham"
    region_name = "West Midlands"
    street = "1 High Street"
    town = "Birmingham"
    postcode = "B1 1AA"
    postcode_district = "B1"
    status = Status.OPEN
    establishment_type = "Community school"
    type_group = "maintained"
    phase = Phase.PRIMARY
    is_primary = True
    is_secondary = False
    is_post16 = False
    age_low = 4
    age_high = 11
    register_source = "test"
    latitude = 52.48
    longitude = -1.89
    coord_source = "test"


class CensusRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CensusRecord

    school = factory.SubFactory(SchoolFactory)
    year = 2024
    school_type = "Community school"
    nor = 300
    pct_fsm_ever = 20.0
    source = "test"


class ResultFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Result

    school = factory.SubFactory(SchoolFactory)
    year = 2019
    measure = "PTRWM_EXP"
    value = 65.0
    text = ""
    note = ""
    source = "test"


class NationalAverageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NationalAverage

    year = 2019
    measure = "PTRWM_EXP"
    value = 65.0
    schools = 100
    method = "test"
    source = "test"


class InspectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Inspection

    school = factory.SubFactory(SchoolFactory)
    date = dt.date(2022, 5, 10)
    rating = "Good"
    source = "test"


class SchoolLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SchoolLink

    urn = factory.Sequence(lambda n: 100000 + n)
    link_urn = factory.Sequence(lambda n: 900000 + n)
    link_name = factory.Sequence(lambda n: f"Old School {n}")
    link_type = "Predecessor"
    established = dt.date(2015, 9, 1)
    source = "test"


class ImportRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ImportRun

    kind = "spine"
    path = factory.Sequence(lambda n: f"file{n}.csv")
    sha256 = "0" * 64
    started_at = factory.LazyFunction(timezone.now)
    ok = True


class PartnershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partnership

    kind = Kind.MAT
    name = factory.Sequence(lambda n: f"Test Trust {n}")
    external_id = factory.Sequence(lambda n: f"TR{n:05d}")
    source = "test"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    partnership = factory.SubFactory(PartnershipFactory)
    school = factory.SubFactory(SchoolFactory)
    joined = dt.date(2018, 9, 1)
    left = None
    source = "test"


@pytest.fixture(scope="module")
def empty_database(django_db_setup: object, django_db_blocker: Any) -> None:
    """Start a test module from an empty database.

    A module-scoped fixture elsewhere may commit data outside any test transaction (e.g. a whole-pack import
    kept for its module); tests that count what they created would then see it. Flush it first, as
    TransactionTestCase does. Use with `pytestmark = pytest.mark.usefixtures("empty_database")` after importing
    this fixture into the test module.
    """
    from django.core.management import call_command

    with django_db_blocker.unblock():
        if School.objects.exists() or Partnership.objects.exists():
            call_command("flush", interactive=False, verbosity=0)
