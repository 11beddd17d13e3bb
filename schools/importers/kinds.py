"""The file kinds of the schools data pack, one module per file family, registered in `registry.KINDS`.

Importing this module loads every schools family (their `@kind` decorators fill the registry):

- `register`: LA and region codes, the DfE spine, GIAS, GIAS links
- `coords`: school coordinates
- `census`: the January school census
- `results`: KS2/KS4 performance tables, DfE final files, the 2024/25 secondary JSON
- `ofsted`: Ofsted inspection history

Higher domains register their own kinds from their AppConfig.ready() (partnerships: the MAT files, see
`partnerships/importers.py`), so `schools` never imports them.
"""

from __future__ import annotations

from schools.importers import census, coords, ofsted, register, results
from schools.importers.registry import (
    IGNORED,
    KINDS,
    METADATA,
    NAME_HINTS,
    Ctx,
    Kind,
    Writer,
    detect,
    guess_from_name,
    kind,
)

FAMILIES = (register, coords, census, results, ofsted)

__all__ = [
    "FAMILIES",
    "IGNORED",
    "KINDS",
    "METADATA",
    "NAME_HINTS",
    "Ctx",
    "Kind",
    "Writer",
    "detect",
    "guess_from_name",
    "kind",
]
