"""Fast CSV writing of a DataFrame, byte for byte what ``DataFrame.to_csv(index=False)`` writes.

Why not ``to_csv`` itself: for the 30,000-trial export it spent ~0.25 s, mostly turning floats
into text one cell at a time (and writing each repeated session column again and again). Here
each column's DISTINCT values are formatted once (``pd.factorize``; scores are rounded and the
session columns repeat for every trial, so there are few) and rows are joined with
``str.join``. The formatting rules are pandas' own (``get_values_for_csv``): floats via numpy
``astype(str)``, missing values as empty cells, other values via ``str`` (floats in object
columns via ``repr``, like the ``csv`` module), and fields quoted by ``csv.writer`` exactly when
it would quote them. Frames this module does not handle (dates, categories, one column, non-text
labels) are passed to ``to_csv`` unchanged.
"""

from __future__ import annotations

import csv
import io
import os
import re
from typing import TextIO

import numpy as np
import pandas as pd

CHUNK_ROWS = 100_000  # bounds the memory of the text being built
_SPECIAL = re.compile(r'[,"\r\n]')  # characters that may make csv.writer quote a field


def write_frame(df: pd.DataFrame, fh: TextIO) -> None:
    """Write ``df`` to the text file ``fh`` as ``df.to_csv(fh, index=False)`` would."""
    if not _supported(df):
        df.to_csv(fh, index=False)
        return
    eol = os.linesep  # to_csv's default line terminator
    fh.write(",".join(_quoted(list(map(str, df.columns)))) + eol)
    for start in range(0, len(df), CHUNK_ROWS):
        chunk = df.iloc[start:start + CHUNK_ROWS]
        columns = [cells(chunk.iloc[:, j]).tolist() for j in range(chunk.shape[1])]
        fh.write(eol.join(map(",".join, zip(*columns, strict=True))) + eol)


def _supported(df: pd.DataFrame) -> bool:
    # One column: csv.writer quotes an empty single field (""); simpler to leave that to pandas.
    if df.shape[1] < 2 or isinstance(df.columns, pd.MultiIndex):
        return False
    if not all(isinstance(c, str) for c in df.columns):
        return False
    return all(_kind(dtype) is not None for dtype in df.dtypes)


def _kind(dtype) -> str | None:
    """How a column of ``dtype`` is formatted: 'float', 'numpy', 'masked', 'text', 'object'."""
    if isinstance(dtype, np.dtype):
        if dtype.kind == "f":
            return "float"
        if dtype.kind in "iub":
            return "numpy"
        return "object" if dtype.kind == "O" else None
    if isinstance(dtype, pd.StringDtype):
        return "text"
    if pd.api.types.is_extension_array_dtype(dtype) and dtype.kind in "iub":
        return "masked"  # Int64, boolean, ...: written as str() of each value
    return None


def cells(s: pd.Series) -> np.ndarray:
    """Object array of the CSV field text of each value of ``s`` (quoted where needed)."""
    kind = _kind(s.dtype)
    if kind == "object":
        return _object_cells(s.to_numpy())
    codes, uniques = pd.factorize(s)  # missing values get code -1
    if kind in ("float", "numpy"):  # numpy's shortest round-trip text, as pandas writes it
        text = np.asarray(uniques).astype(str).astype(object)
    elif kind == "masked":
        text = np.array([str(v) for v in uniques.to_numpy(dtype=object)], dtype=object)
    else:
        text = np.array(_quoted(uniques.to_numpy(dtype=object).tolist()), dtype=object)
    out = np.append(text, "").take(codes)  # code -1 picks the trailing "" (pandas' na_rep)
    if kind == "float":
        _fix_signed_zeros(s.to_numpy(), out)
    return out


def _fix_signed_zeros(values: np.ndarray, out: np.ndarray) -> None:
    # factorize treats -0.0 and 0.0 as one value; to_csv writes each as it is
    zero = values == 0
    if zero.any():
        out[zero] = np.where(np.signbit(values[zero]), "-0.0", "0.0")


def _object_cells(values: np.ndarray) -> np.ndarray:
    # No factorize here: 1, 1.0 and True hash alike but are written differently.
    missing = pd.isna(values)
    text = [v if type(v) is str else repr(v) if isinstance(v, float) else str(v) for v in values]
    out = np.array(_quoted(text), dtype=object)
    out[missing] = ""
    return out


def _quoted(text: list[str]) -> list[str]:
    """``text`` with the fields csv.writer would quote quoted by csv.writer itself (rare)."""
    special = [i for i, t in enumerate(text) if _SPECIAL.search(t)]
    if not special:
        return text
    buf = io.StringIO()
    eol = os.linesep  # the terminator's characters count as special (as in to_csv's writer)
    writer = csv.writer(buf, lineterminator=eol, quoting=csv.QUOTE_MINIMAL)
    out = list(text)
    for i in special:
        buf.seek(0)
        buf.truncate()
        writer.writerow([out[i], ""])  # two fields: a lone empty field would be quoted
        out[i] = buf.getvalue()[: -1 - len(eol)]  # drop "," + eol of the dummy second field
    return out
