"""factory_boy factories for the support ledger (schools come from the schools factories)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import factory

from schools.tests.factories import SchoolFactory
from support.models import SupportActivity, SurveyResponse


class SupportActivityFactory(factory.django.DjangoModelFactory):
    """One support activity; `providers=[school or urn, ...]` sets the providing schools after creation."""

    class Meta:
        model = SupportActivity
        skip_postgeneration_save = True

    recipient = factory.SubFactory(SchoolFactory)
    support_type = "jpd"
    start_date = dt.date(2017, 9, 1)
    provider_key = ""

    @factory.post_generation
    def providers(obj: Any, create: bool, extracted: Iterable[Any] | None, **kwargs: Any) -> None:  # noqa: N805
        if create and extracted:
            obj.providers.set(extracted)


class SurveyResponseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SurveyResponse

    school = factory.SubFactory(SchoolFactory)
    survey_year = 2014
    supports_others = True
