"""The export's C++ (Apache Arrow) paths: trial score JSON to flat metric columns, tables to CSV.

The plain pandas path (``json.loads`` + ``pd.json_normalize``, ``DataFrame.to_csv``) does
Python work for each of the ~4.5 million cells of a 30,000-trial export; Arrow parses the JSON
and formats the CSV in C++. Each function gives what the pandas path gives, read back with
pandas (the tests check this), or None when Arrow could not say the same thing (a key that is a
number in one trial and text or an object in another, a dotted key that clashes with a nested
one, a column type whose CSV text would differ), and the caller then takes the pandas path.

The CSV text is the one ``DataFrame.to_csv`` writes (the tests and ``bench/export.py`` check).
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np
import pandas as pd

_BLOCK_BYTES = 4 << 20  # JSON parsed in 4 MB blocks (1 to 16 MB measured alike, within noise)


def metric_table(texts: Sequence[str], skip: Collection[str] = ()) -> pd.DataFrame | None:
    """The trial scores ``texts`` (one JSON object each) as flat columns, like
    ``rehab.report.export.metric_frame`` over the decoded dicts: nested keys joined with dots,
    lists as JSON text, top-level ``skip`` keys left out; None when Arrow cannot read them
    the same way. Columns come in ``rehab.report.export.key_order``.

    Limits: an integer beyond 64 bits becomes a float (the scorer writes none).
    """
    import pyarrow as pa

    table = _flat_table(texts, skip)
    if table is None:
        return None
    columns = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind = column.type
        if pa.types.is_list(kind) or pa.types.is_large_list(kind):
            columns[name] = _lists_as_json(column, name, texts)
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            columns[name] = pd.Series(column.to_pandas(), dtype="str")
        elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
            columns[name] = column.to_pandas()
        elif pa.types.is_boolean(kind) or pa.types.is_null(kind):
            cells = column.to_pandas()  # a key missing in json_normalize's rows is NaN there
            columns[name] = cells if cells.dtype == bool else cells.where(cells.notna(), np.nan)
        else:
            return None
    return pd.DataFrame(columns, index=pd.RangeIndex(len(texts)))


def _flat_table(texts: Sequence[str], skip: Collection[str]) -> Any:
    """``texts`` parsed by Arrow, structs flattened to dotted columns; None when it cannot."""
    import pyarrow as pa
    import pyarrow.json as pj

    if not texts:
        return None
    data = "\n".join(texts).encode("utf-8")
    if data.count(b"\n") != len(texts) - 1:  # a text on several lines: not one object a line
        return None
    try:
        table = pj.read_json(io.BytesIO(data), read_options=pj.ReadOptions(
            use_threads=False, block_size=_BLOCK_BYTES))  # one thread: keys in first-seen order
    except (pa.ArrowException, ValueError):
        return None
    if table.num_rows != len(texts):
        return None
    table = table.drop_columns([f.name for f in table.schema
                                if f.name in skip and not pa.types.is_struct(f.type)])
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    if len(set(table.column_names)) != table.num_columns:  # {"a.b": 1, "a": {"b": 2}}
        return None
    return table


def _lists_as_json(column, name: str, texts: Sequence[str]) -> pd.Series:
    """List cells as ``json.dumps`` text (``["index", "ring"]``), missing ones as NaN, built by
    Arrow; a cell whose Arrow text might not be ``json.dumps``'s (a whole float, which the
    JSON may have written ``2``; a dict with a missing value, whose key it may not have had;
    text to escape) is taken from the trial's own JSON."""
    column = column.combine_chunks()
    text, unsure = _json_text(column)
    out = text.to_numpy(zero_copy_only=False).astype(object)
    out[column.is_null().to_numpy(zero_copy_only=False)] = np.nan
    for row in np.flatnonzero(unsure & column.is_valid().to_numpy(zero_copy_only=False)):
        out[row] = json.dumps(_at(json.loads(texts[row]), name))
    return pd.Series(out, dtype="str")


_PLAIN = r"^[ !#-\[\]-~]*$"  # printable ASCII but " and \: json.dumps writes it as it is


def _json_text(array) -> tuple[Any, np.ndarray]:
    """(``json.dumps`` text of each element of ``array``, whether that text may be wrong)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind, n = array.type, len(array)
    unsure = np.zeros(n, dtype=bool)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        unsure = ~_np(pc.fill_null(pc.match_substring_regex(array, _PLAIN), True))
        text = pc.binary_join_element_wise('"', array, '"', "")
    elif pa.types.is_integer(kind):
        text = pc.cast(array, pa.string())
    elif pa.types.is_floating(kind):
        size = pc.abs(array)  # repr and Arrow write these differently: 2.0/2, 1e-05/0.00001
        odd = pc.or_(pc.or_(pc.equal(pc.floor(array), array), pc.is_nan(array)),
                     pc.or_(pc.less(size, 1e-4), pc.greater_equal(size, 1e15)))
        unsure = _np(pc.fill_null(odd, False))
        text = pc.cast(array, pa.string())
    elif pa.types.is_boolean(kind):
        text = pc.if_else(array, "true", "false")
    elif pa.types.is_null(kind):
        text = pa.nulls(n, pa.string())
    elif pa.types.is_struct(kind):
        pieces: list[Any] = ["{"]
        valid = _np(array.is_valid())
        for i in range(kind.num_fields):
            child = pc.struct_field(array, [i])
            child_text, child_unsure = _json_text(child)
            unsure |= valid & (child_unsure | _np(child.is_null()))
            pieces += [", " if i else "", json.dumps(kind.field(i).name) + ": ", child_text]
        text = pc.if_else(array.is_valid(), pc.binary_join_element_wise(*pieces, "}", ""),
                          pa.scalar(None, pa.string()))
    elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
        offsets = _np(array.offsets)
        values_text, values_unsure = _json_text(array.values)
        parents = np.repeat(np.arange(n), np.diff(offsets))
        unsure[parents[values_unsure[offsets[0]:offsets[-1]]]] = True
        lists = type(array).from_arrays(array.offsets, values_text, mask=array.is_null())
        text = pc.binary_join_element_wise("[", pc.binary_join(lists, ", "), "]", "")
    else:
        return pa.nulls(n, pa.string()), np.ones(n, dtype=bool)
    return pc.fill_null(text, "null"), unsure


def _np(array) -> np.ndarray:
    return array.to_numpy(zero_copy_only=False)


def _at(obj: object, dotted: str) -> object:
    """The value at the flattened column name ``dotted`` (keys may contain dots themselves)."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        key, rest = ".".join(parts[:i]), ".".join(parts[i:])
        if isinstance(obj, dict) and key in obj:
            try:
                return _at(obj[key], rest) if rest else obj[key]
            except KeyError:
                continue
    raise KeyError(dotted)


def csv_bytes(df: pd.DataFrame) -> bytes | None:
    """``df`` as the CSV text ``df.to_csv(index=False)`` writes, each column's cells formatted
    by Arrow compute functions; None when a column is of a type it does not format (dates,
    lists, mixed objects): then use ``to_csv``.

    Text is quoted only where needed (a comma, quote or line break), booleans are ``True`` /
    ``False``, numbers as ``repr`` writes them (``3.0``, ``1e-05``), missing values empty.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if (len(df.columns) < 2  # to_csv quotes an empty cell of a one-column row
            or not all(isinstance(c, str) for c in df.columns)
            or len(set(df.columns)) != len(df.columns)):
        return None
    try:
        table = pa.Table.from_pandas(df, preserve_index=False)
    except (pa.ArrowException, ValueError, TypeError):
        return None
    cells = [_csv_cells(column.combine_chunks()) for column in table.columns]
    if any(c is None for c in cells):
        return None
    header = df.iloc[:0].to_csv(index=False)
    if not table.num_rows:
        return header.encode("utf-8")
    rows = pc.binary_join_element_wise(*cells, ",")
    return (header + os.linesep.join(rows.to_pylist()) + os.linesep).encode("utf-8")


_NEEDS_QUOTES = '[,"\r\n]'


def _csv_cells(array) -> Any:
    """The CSV text of each cell of ``array`` as ``to_csv`` writes it, or None."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        array = array.cast(pa.string())
        quoted = pc.binary_join_element_wise('"', pc.replace_substring(array, '"', '""'), '"', "")
        text = pc.if_else(pc.match_substring_regex(array, _NEEDS_QUOTES), quoted, array)
    elif pa.types.is_boolean(kind):
        text = pc.if_else(array, "True", "False")
    elif pa.types.is_integer(kind):
        text = pc.cast(array, pa.string())
    elif pa.types.is_floating(kind):
        text = _float_text(array)
    elif pa.types.is_null(kind):
        text = pa.nulls(len(array), pa.string())
    else:
        return None
    return pc.fill_null(text.cast(pa.string()), "")


def _float_text(array) -> Any:
    """``repr`` of each float: Arrow's shortest digits, ``.0`` after a whole number, and
    ``repr`` itself where Arrow would write an exponent or ``repr`` would."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = array.cast(pa.float64())
    text = pc.cast(array, pa.string())
    size = pc.abs(array)
    big_or_tiny = pc.or_(pc.less(size, 1e-4), pc.greater_equal(size, 1e16))  # also inf
    whole = pc.and_(pc.equal(pc.floor(array), array), pc.less(size, 1e16))  # 0.0 too
    if pc.any(whole).as_py():
        text = pc.if_else(whole, pc.binary_join_element_wise(text, ".0", ""), text)
    odd = _np(pc.fill_null(pc.or_(pc.and_(pc.not_equal(size, 0.0), big_or_tiny),
                                  pc.match_substring(text, "e")), False))
    if odd.any():  # 1e-05, 1e+16, 12345678901.25 (Arrow: 1.234567890125e+10): through Python
        out = text.to_numpy(zero_copy_only=False).astype(object)
        values = _np(array)
        out[odd] = [repr(float(v)) for v in values[odd]]
        text = pa.array(out, pa.string())
    return text
