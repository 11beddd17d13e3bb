"""Helpers shared by the file families: clipping text to column widths, the known register, years."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from django.db import models as djm

from schools.importers import db
from schools.importers.reading import Source, StructuralError, year_from_name
from schools.importers.registry import Ctx
from schools.models import School

T_SCHOOL = School._meta.db_table


def _maxlen(model: type[djm.Model]) -> dict[str, int]:
    return {
        f.column: f.max_length
        for f in model._meta.concrete_fields
        if isinstance(f, djm.CharField) and f.max_length
    }


def clip(df: pd.DataFrame, model: type[djm.Model]) -> pd.DataFrame:
    """Cut text columns of `df` to the model's CharField max_length."""
    for col, n in _maxlen(model).items():
        if col in df.columns and df[col].dtype == object:
            df[col] = [v[:n] if isinstance(v, str) and len(v) > n else v for v in df[col].tolist()]
    return df


def char_defaults(model: type[djm.Model]) -> dict[str, object]:
    """Insert defaults for every column of `model` (blank text, empty JSON, False, else NULL)."""
    out: dict[str, object] = {}
    for f in model._meta.concrete_fields:
        if f.primary_key and isinstance(f, djm.AutoField):
            continue
        if isinstance(f, djm.CharField | djm.TextField):
            out[f.column] = ""
        elif isinstance(f, djm.JSONField):
            out[f.column] = "{}"
        elif isinstance(f, djm.BooleanField) and not f.null:
            out[f.column] = bool(f.default) if f.default is not djm.NOT_PROVIDED else False
        else:
            out[f.column] = None
    return out


def known_schools() -> pd.DataFrame:
    return db.query_frame(f"SELECT urn, type_group FROM {T_SCHOOL}")


def reject_unknown(ctx: Ctx, urn: pd.Series, known: set[int], reason: str = "unknown URN") -> np.ndarray:
    ok = urn.isin(known).to_numpy(dtype=bool)
    n = int((~ok).sum())
    if n:
        ctx.rejected[reason] += n
    return ok


def academic_year_end(year: int) -> dt.date:
    return dt.date(year, 8, 31)


def file_year(src: Source, ctx: Ctx) -> int:
    y = ctx.year or year_from_name(src.name)
    if y is None:
        raise StructuralError(
            src.name, None, None, src.name, "cannot tell the academic year from the file name; pass --year"
        )
    return y


def strip(s: pd.Series) -> pd.Series:
    """Text cells stripped of surrounding blanks (missing cells become "")."""
    codes, uniq = pd.factorize(s.fillna(""), use_na_sentinel=False)
    u = pd.Series(uniq, dtype=object).astype(str).str.strip().to_numpy()
    return pd.Series(u[codes], index=s.index, dtype=object)
