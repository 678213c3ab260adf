"""ml-commons' `DataFrame`: the table the classic algorithms (k-means, linear regression, RCF)
read and answer with, in its REST form, and `DataFrameBuilder.load`'s column order.

REST form: `{"column_metas": [{"name", "column_type"}], "rows": [{"values": [{"column_type",
"value"}]}]}`. A result frame built from maps (`DataFrameBuilder.load`) takes its columns in
the first map's order, and ml-commons builds those maps as `java.util.HashMap`s: `java_key_order`
gives that order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from cluster.errors import illegal_argument

from . import xcontent

COLUMN_TYPES = ("STRING", "SHORT", "INTEGER", "LONG", "DOUBLE", "BOOLEAN", "FLOAT", "NULL")
NUMERIC_TYPES = ("SHORT", "INTEGER", "LONG", "DOUBLE", "FLOAT")


@dataclass(frozen=True, slots=True)
class DataFrame:
    names: tuple[str, ...]
    types: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def column(self, name: str) -> int | None:
        return self.names.index(name) if name in self.names else None

    def numeric(self, columns: list[int]) -> list[list[float]]:
        """The rows' values at `columns` as floats (booleans 0/1; text refused as ml-commons'
        `ColumnValue.doubleValue` refuses it)."""
        matrix = []
        for row in self.rows:
            values = []
            for index in columns:
                value = row[index]
                if isinstance(value, bool):
                    value = float(value)
                if not isinstance(value, (int, float)):
                    raise illegal_argument("the value isn't Double type")
                values.append(float(value))
            matrix.append(values)
        return matrix


def parse_data_frame(raw: Any) -> DataFrame:
    """`input_data` as `DataFrameParser` reads it."""
    data = xcontent.JsonFields.object(raw)
    metas = data.get("column_metas")
    rows = data.get("rows")
    if not isinstance(metas, list) or not metas:
        raise illegal_argument("columnMetas array is null or empty")
    names, types = [], []
    for meta in metas:
        meta = xcontent.JsonFields.object(meta)
        column_type = str(meta.get("column_type", "")).upper()
        if column_type not in COLUMN_TYPES:
            raise illegal_argument(f"No enum constant org.opensearch.ml.common.dataframe.ColumnType.{column_type}")
        names.append(str(meta.get("name")))
        types.append(column_type)
    parsed_rows = []
    for row in rows if isinstance(rows, list) else []:
        values = xcontent.JsonFields.object(row).get("values")
        if not isinstance(values, list) or len(values) != len(names):
            raise illegal_argument("the size of column metas and row values are different")
        parsed_rows.append(tuple(xcontent.JsonFields.object(value).get("value") for value in values))
    return DataFrame(tuple(names), tuple(types), tuple(parsed_rows))


def from_sources(sources: list[Mapping[str, Any]]) -> DataFrame:
    """`DataFrameBuilder.load` of search hits' sources: the first source's fields are the
    columns; every source must have the same fields."""
    if not sources:
        raise illegal_argument("input is null or empty")
    names = tuple(sources[0])
    rows = []
    for source in sources:
        if len(source) != len(names):
            raise illegal_argument("input item map size is different in the map")
        for key in source:
            if key not in names:
                raise illegal_argument(f"field of input item doesn't exist in columns, filed:{key}")
        rows.append(tuple(source[name] for name in names))
    return DataFrame(names, tuple(_column_type(rows[0][i]) for i in range(len(names))), tuple(rows))


def render(result_rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A result frame from maps (`DataFrameBuilder.load`): columns in `java_key_order`."""
    if not result_rows:
        return {"column_metas": [], "rows": []}
    names = java_key_order(list(result_rows[0]))
    types = [_column_type(result_rows[0][name]) for name in names]
    return {
        "column_metas": [{"name": name, "column_type": kind} for name, kind in zip(names, types)],
        "rows": [{"values": [{"column_type": _column_type(row[name]), "value": row[name]} for name in names]}
                 for row in result_rows],
    }


def _column_type(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int):
        return "INTEGER" if -(2**31) <= value < 2**31 else "LONG"
    if isinstance(value, float):
        return "DOUBLE"
    return "NULL" if value is None else "STRING"


def java_string_hash(text: str) -> int:
    """`String.hashCode` (over UTF-16 code units), as a signed 32-bit int."""
    value = 0
    for unit in text.encode("utf-16-be").hex(" ", 2).split():
        value = (31 * value + int(unit, 16)) & 0xFFFFFFFF
    return value - 2**32 if value >= 2**31 else value


def java_key_order(keys: list[str]) -> list[str]:
    """The iteration order of a small `java.util.HashMap` (16 buckets, which holds up to 12
    keys): by bucket of the spread hash, then insertion order."""
    if len(keys) > 12:
        return list(keys)

    def bucket(key: str) -> int:
        h = java_string_hash(key) & 0xFFFFFFFF
        return (h ^ (h >> 16)) & 15

    return sorted(keys, key=lambda key: (bucket(key), keys.index(key)))
