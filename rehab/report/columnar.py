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
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

_BLOCK_BYTES = 4 << 20  # JSON parsed in 4 MB blocks (1 to 16 MB measured alike, within noise)
_PART_TRIALS = 2000  # trials per thread at least: below that a thread costs more than it saves


def metric_table(texts: Sequence[str], skip: Collection[str] = (),
                 parts: int | None = None) -> pd.DataFrame | None:
    """The trial scores ``texts`` (one JSON object each) as flat columns, like
    ``rehab.report.export.metric_frame`` over the decoded dicts: nested keys joined with dots,
    lists as JSON text, top-level ``skip`` keys left out; None when Arrow cannot read them
    the same way. Columns come in ``rehab.report.export.key_order``.

    The texts are parsed in ``parts`` runs of consecutive trials, one thread each (Arrow
    parses without Python's lock); by default one per CPU, up to 4, for every
    ``_PART_TRIALS`` trials.

    Limits: an integer beyond 64 bits becomes a float (the scorer writes none).
    """
    import pyarrow as pa

    table = _flat_table(texts, skip, _parts(len(texts), _PART_TRIALS) if parts is None else parts)
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


def _parts(rows: int, per_part: int) -> int:
    """How many runs to split ``rows`` rows into: one per CPU this process may use (up to 4),
    each of ``per_part`` rows at least."""
    try:
        cpus = len(os.sched_getaffinity(0))  # fewer than the machine's under a CPU limit
    except AttributeError:  # macOS, Windows
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 4, rows // per_part))


def _in_runs(fn: Callable[[Any], Any], rows: int, parts: int,
             run: Callable[[int, int], Any]) -> list[Any]:
    """``fn`` of each of ``parts`` runs of consecutive rows (``run(start, stop)`` makes one),
    one thread each when there are several; results in row order."""
    bounds = np.linspace(0, rows, max(1, min(parts, rows)) + 1).astype(int)
    runs = [run(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    if len(runs) == 1:
        return [fn(runs[0])]
    with ThreadPoolExecutor(len(runs)) as pool:
        return list(pool.map(fn, runs))


def _flat_table(texts: Sequence[str], skip: Collection[str], parts: int = 1) -> Any:
    """``texts`` parsed by Arrow, structs flattened to dotted columns; None when it cannot."""
    import pyarrow as pa

    if not texts:
        return None
    tables = _in_runs(_parsed, len(texts), parts, lambda a, b: texts[a:b])
    if any(t is None for t in tables):
        return None
    fields = _merged_fields([list(t.schema) for t in tables])
    if fields is None:
        return None
    leaves = [(name, kind) for name, kind in _leaves(fields)
              if not (name in skip and not pa.types.is_struct(kind))]
    if len({name for name, _ in leaves}) != len(leaves):  # {"a.b": 1, "a": {"b": 2}}
        return None
    flat = [(_flattened(t), t.num_rows) for t in tables]
    try:
        columns = [pa.chunked_array([_column(f, rows, name, kind) for f, rows in flat], kind)
                   for name, kind in leaves]
    except (pa.ArrowException, ValueError, TypeError):
        return None
    return pa.Table.from_arrays(columns, names=[name for name, _ in leaves])


def _parsed(texts: Sequence[str]) -> Any:
    """One run of trial texts parsed by Arrow on one thread (so keys come in first-seen
    order), or None."""
    import pyarrow as pa
    import pyarrow.json as pj

    data = "\n".join(texts).encode("utf-8")
    if data.count(b"\n") != len(texts) - 1:  # a text on several lines: not one object a line
        return None
    try:
        table = pj.read_json(io.BytesIO(data), read_options=pj.ReadOptions(
            use_threads=False, block_size=_BLOCK_BYTES))
    except (pa.ArrowException, ValueError):
        return None
    return table if table.num_rows == len(texts) else None


def _merged_fields(schemas: list[list[Any]]) -> list[Any] | None:
    """The fields of the runs' schemas as one list, in first-seen order: a run's new keys
    after the earlier runs' keys, a new nested key after its parent's earlier keys (what one
    parse of all texts gives); None when a key's types cannot be one type."""
    import pyarrow as pa

    out: dict[str, Any] = {}
    for fields in schemas:
        for field in fields:
            kind = out[field.name].type if field.name in out else pa.null()
            merged = _merged_type(kind, field.type)
            if merged is None:
                return None
            out[field.name] = pa.field(field.name, merged)
    return list(out.values())


def _merged_type(a: Any, b: Any) -> Any:
    """The type both ``a`` and ``b`` values can be read as (Arrow's JSON inference: null
    gives way, whole numbers become floats beside floats), or None."""
    import pyarrow as pa

    if a == b:
        return a
    if pa.types.is_null(a) or pa.types.is_null(b):
        return b if pa.types.is_null(a) else a
    if pa.types.is_struct(a) and pa.types.is_struct(b):
        fields = _merged_fields([list(a), list(b)])
        return None if fields is None else pa.struct(fields)
    if pa.types.is_list(a) and pa.types.is_list(b):
        value = _merged_type(a.value_type, b.value_type)
        return None if value is None else pa.list_(value)
    numbers = (pa.types.is_integer, pa.types.is_floating)
    if any(f(a) for f in numbers) and any(f(b) for f in numbers):
        return pa.float64()
    return None


def _leaves(fields: list[Any], prefix: str = "") -> list[tuple[str, Any]]:
    """(dotted name, type) of every column ``Table.flatten`` makes of ``fields``."""
    import pyarrow as pa

    out = []
    for field in fields:
        name = prefix + field.name
        if pa.types.is_struct(field.type):
            out += _leaves(list(field.type), name + ".")
        else:
            out.append((name, field.type))
    return out


def _flattened(table: Any) -> dict[str, Any]:
    """Dotted column name -> column of ``table`` with its structs flattened."""
    import pyarrow as pa

    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    return {name: column for name, column in zip(table.column_names, table.columns,
                                                  strict=True)}


def _column(flat: dict[str, Any], rows: int, name: str, kind: Any) -> Any:
    """Column ``name`` of one run of ``rows`` trials as ``kind`` (nulls where the run never
    had the key)."""
    import pyarrow as pa

    column = flat.get(name)
    if column is None:
        return pa.nulls(rows, kind)
    column = column.combine_chunks()
    return column if column.type == kind else column.cast(kind)


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


def csv_bytes(df: pd.DataFrame, parts: int | None = None) -> bytes | None:
    """``df`` as the CSV text ``df.to_csv(index=False)`` writes, each column's cells formatted
    by Arrow compute functions; None when a column is of a type it does not format (dates,
    lists, mixed objects): then use ``to_csv``.

    Text is quoted only where needed (a comma, quote or line break), booleans are ``True`` /
    ``False``, numbers as ``repr`` writes them (``3.0``, ``1e-05``), missing values empty.
    The rows are formatted in ``parts`` runs, one thread each; by default one per CPU, up to
    4, for every ``_PART_ROWS`` rows.
    """
    import pyarrow as pa

    if (len(df.columns) < 2  # to_csv quotes an empty cell of a one-column row
            or not all(isinstance(c, str) for c in df.columns)
            or len(set(df.columns)) != len(df.columns)):
        return None
    try:
        table = pa.Table.from_pandas(df, preserve_index=False)
    except (pa.ArrowException, ValueError, TypeError):
        return None
    header = df.iloc[:0].to_csv(index=False)
    if not table.num_rows:
        return header.encode("utf-8") if _rows_text(table) is not None else None
    rows = table.num_rows
    texts = _in_runs(_rows_text, rows, _parts(rows, _PART_ROWS) if parts is None else parts,
                     lambda a, b: table.slice(a, b - a))
    if any(t is None for t in texts):
        return None
    return (header + "".join(t + os.linesep for t in texts)).encode("utf-8")


_PART_ROWS = 5000  # rows per thread at least


def _rows_text(table: Any) -> str | None:
    """The CSV lines of ``table``'s rows joined by line breaks, or None when a column is of
    a type ``_csv_cells`` does not format."""
    import pyarrow.compute as pc

    cells = [_csv_cells(column.combine_chunks()) for column in table.columns]
    if any(c is None for c in cells):
        return None
    if not table.num_rows:
        return ""
    return os.linesep.join(pc.binary_join_element_wise(*cells, ",").to_pylist())


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
