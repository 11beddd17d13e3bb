"""The signed-in home page's sections ("what awaits you"), contributed by each domain.

`accounts` is kernel: it must not import the domains above it. A domain registers a section provider in its
`AppConfig.ready()`; the home page (`accounts.views.home`) calls every provider with the signed-in user, in
`order`, and shows the sections they return (None: nothing for this user).

    # brokerage/apps.py
    def ready(self) -> None:
        from accounts.dashboard import register_section
        from brokerage.dashboard import section
        register_section("brokerage", section, order=30)

A section lists tasks (something this user must do or should read, with how many and one link to the page
where they do it) and links (the user's school, trust or region pages).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from schoolpartners.types import User


@dataclass(frozen=True)
class Task:
    text: str  # "Proposals to answer"
    count: int
    url: str
    hint: str = ""  # one line under the task
    status: str = "waiting"  # the word after the count: "waiting" (to act on) or e.g. "under way" (to know)
    counts: bool = True  # False: shown, but not one of the things that need the user's attention


@dataclass(frozen=True)
class Link:
    text: str
    url: str


@dataclass
class Section:
    key: str
    title: str
    tasks: list[Task] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    note: str = ""

    @property
    def waiting(self) -> int:
        return sum(t.count for t in self.tasks if t.counts)


Provider = Callable[[User], Section | None]

_PROVIDERS: dict[str, tuple[int, Provider]] = {}


def register_section(key: str, provider: Provider, *, order: int = 100) -> None:
    """Add (or replace, by `key`) a section of the home page."""
    _PROVIDERS[key] = (order, provider)


def unregister_section(key: str) -> None:
    _PROVIDERS.pop(key, None)


def sections_for(user: User) -> list[Section]:
    """The sections for this user, in order, leaving out providers that have nothing for them."""
    out = []
    for _key, (_order, provider) in sorted(_PROVIDERS.items(), key=lambda kv: (kv[1][0], kv[0])):
        section = provider(user)
        if section is not None and (section.tasks or section.links or section.note):
            out.append(section)
    return out
