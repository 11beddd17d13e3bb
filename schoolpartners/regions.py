"""The nine English regions and the DfE sub-regions stored on schools (kernel: the one place this is written).

The 2024/25 DfE LA table lists sub-regions ("London East", "North West B", "West Midlands C"); people search
and decide by the nine English regions. Pure module: no Django import (`region_q` builds a Q lazily).
"""

from __future__ import annotations

from typing import Any

#: Sub-region name prefix -> the English region it belongs to.
SUBREGION_TO_REGION: dict[str, str] = {
    "North East": "North East",
    "North West": "North West",
    "North Yorkshire and The Humber": "Yorkshire and The Humber",
    "South and West Yorkshire": "Yorkshire and The Humber",
    "East Midlands": "East Midlands",
    "West Midlands": "West Midlands",
    "East of England": "East of England",
    "London": "London",
    "South East": "South East",
    "South West": "South West",
}

#: LA codes of 2018/19 that the 2024/25 table lacks (authorities split or renumbered since).
OLD_LA_REGION: dict[int, str] = {
    909: "North West",  # Cumbria (split 2023)
    928: "East Midlands",  # Northamptonshire (split 2021)
    835: "South West",  # Dorset (pre-2019 code)
    836: "South West",  # Poole
    837: "South West",  # Bournemouth
}

ENGLISH_REGIONS: tuple[str, ...] = tuple(dict.fromkeys(SUBREGION_TO_REGION.values()))


def english_region(stored: str | None) -> str:
    """A stored region or sub-region name ("London East", "North West B") -> its English region ("" if none)."""
    name = (stored or "").strip()
    for prefix, region in SUBREGION_TO_REGION.items():
        if name.startswith(prefix):
            return region
    return ""


def subregion_prefixes(region: str) -> list[str]:
    """The stored sub-region prefixes that make up one English region (case-insensitive); [] if not a region."""
    wanted = region.strip().lower()
    return [prefix for prefix, name in SUBREGION_TO_REGION.items() if name.lower() == wanted]


def in_region(stored: str, region: str) -> bool:
    """True when a stored (sub-)region name is `region` itself or belongs to the English region `region`."""
    if not region:
        return False
    return stored.strip().lower() == region.strip().lower() or english_region(stored).lower() == (
        region.strip().lower()
    )


def region_q(field: str, region: str) -> Any:
    """A Django Q matching `field` equal to `region` or to any sub-region of the English region `region`."""
    from django.db.models import Q  # imported lazily: the rest of this module stays Django-free

    q = Q(**{f"{field}__iexact": region})
    for prefix in subregion_prefixes(region):
        q |= Q(**{f"{field}__istartswith": prefix})
    return q
