"""factory_boy factories for stored similarity runs and school families (schools: the schools factories)."""

from __future__ import annotations

import factory

from schools.tests.factories import SchoolFactory
from similarity.models import SchoolSimilarity, SimilarityRun


class SimilarityRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SimilarityRun

    method = factory.LazyFunction(lambda: {"year": 2019})
    method_hash = "test"
    description = factory.Sequence(lambda n: f"test run {n}")
    is_current = True


class SchoolSimilarityFactory(factory.django.DjangoModelFactory):
    """One school's stored family in a run; by default at the top of an empty family."""

    class Meta:
        model = SchoolSimilarity

    run = factory.SubFactory(SimilarityRunFactory)
    school = factory.SubFactory(SchoolFactory)
    phase = "primary"
    headline = 0.0
    top_of_family = True
    partners = factory.LazyFunction(
        lambda: {"default": {"top_of_family": True}, "robust": {"top_of_family": True}}
    )
    family = factory.LazyFunction(lambda: {"urn": [], "distance": [], "miles": [], "headline": []})
