"""factory_boy factories for brokerage: needs, offers and proposals (schools come from the schools factories)."""

from __future__ import annotations

import factory

from brokerage.models import Need, Offer, Proposal
from schools.tests.factories import SchoolFactory


class NeedFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Need

    school = factory.SubFactory(SchoolFactory)
    area = "leadership"
    severity = 2
    source = Need.Source.DECLARED


class OfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Offer

    school = factory.SubFactory(SchoolFactory)
    areas = factory.LazyFunction(lambda: ["leadership"])
    phases = factory.LazyFunction(lambda: ["primary"])
    capacity = 2
    source = Offer.Source.DECLARED


class ProposalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Proposal

    need = factory.SubFactory(NeedFactory)
    offer = factory.SubFactory(OfferFactory)
