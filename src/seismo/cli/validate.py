"""`seismo validate`: every mistake in a config and its data, found without computing statistics.

The config is checked first (`seismo.cli.config.read_config`). When it is usable the data
is looked at through schemas, row counts and the first rows of each source (`SAMPLE_ROWS`);
only the targets' id column is read whole, to find duplicated ids. Every check adds
`Problem`s and none stops the others, so one run lists everything to fix.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seismo.cli import sources
from seismo.cli.config import Config, Problem, read_config, read_config_tree, salvaged_config
from seismo.data.columns import label_text
from seismo.data.io import string_values
from seismo.data.timestamps import parse_timestamps
from seismo.errors import InvalidData

SAMPLE_ROWS = 10_000
DATA_PERIODS = ("reference", "analysis")


def validate(config_path: str | Path) -> list[Problem]:
    """Every problem of the config at ``config_path`` and of the data it names; empty when all is well."""
    config, problems = read_config(config_path)
    if config is None:  # still look at the data wherever the rest of the config names it: one pass
        tree, unreadable = read_config_tree(config_path)
        config = salvaged_config(tree, Path(config_path).resolve().parent) if not unreadable and \
            isinstance(tree, dict) else None
        if config is None:
            return problems
    seen = set(problems)
    return problems + [p for p in data_problems(config) if p not in seen]


def data_problems(config: Config) -> list[Problem]:
    """Problems in the data a valid config names (missing files, columns, bad values, sizes)."""
    problems: list[Problem] = []
    schemas: dict[str, pa.Schema] = {}
    for period in ("reference", "analysis", "targets"):
        if getattr(config.data, period) is None:
            continue
        try:
            schemas[period] = sources.schema(config, period)
        except sources.SourceError as exc:
            problems.append(Problem(exc.kind, exc.where, str(exc).split(": ", 1)[1]))
    for period in DATA_PERIODS:
        if period in schemas:
            problems += _missing_columns(config, period, schemas[period])
            problems += _missing_segment_columns(config, period, schemas[period])
    if "reference" in schemas and "analysis" in schemas:
        problems += _type_mismatches(config, schemas["reference"], schemas["analysis"])
    if "targets" in schemas:
        problems += _targets_problems(config, schemas["targets"], schemas.get("analysis"))
    samples = {}
    for period in DATA_PERIODS:
        if period in schemas:
            try:
                samples[period] = _sample(config, period, schemas[period])
            except sources.SourceError as exc:
                problems.append(Problem(exc.kind, exc.where, str(exc).split(": ", 1)[1]))
    classes = _classes(config, samples.get("reference"))
    problems += _label_problems(config, samples.get("reference"), classes)
    for period, table in samples.items():
        problems += _value_problems(config, period, table, classes)
    if "reference" in schemas:
        problems += _size_problems(config)
    return problems


def _expected_columns(config: Config, period: str) -> dict[str, str]:
    """Column -> role of the columns a period must have (labels are optional in the analysis)."""
    roles = config.model.role_columns()
    if period == "analysis" and config.model.y_true:
        roles.pop(config.model.y_true, None)
    for feature in config.model.features or []:
        roles.setdefault(feature, "feature")
    return roles


def _missing_columns(config: Config, period: str, schema: pa.Schema) -> list[Problem]:
    names = schema.names
    problems = []
    for column, role in _expected_columns(config, period).items():
        if column not in names:
            key = f"model.{role}" if role != "feature" else "model.features"
            shown = ", ".join(names[:15]) + (", ..." if len(names) > 15 else "")
            problems.append(Problem("missing_column", f"data.{period}",
                                    f"column {column!r} ({key}) is not in the {period} data; it has: {shown}"))
    return problems


def _missing_segment_columns(config: Config, period: str, schema: pa.Schema) -> list[Problem]:
    """Each declared segment column must be in the data: the run reads it from every row of both periods."""
    names = schema.names
    shown = ", ".join(names[:15]) + (", ..." if len(names) > 15 else "")
    first: dict[str, int] = {}  # a column crossed in several entries is named once, by its first
    for i, item in enumerate(config.segments or []):
        for column in [item] if isinstance(item, str) else item:
            first.setdefault(column, i)
    return [Problem("missing_column", f"data.{period}", f"column {column!r} (segments[{i}]) is not in the "
                                                        f"{period} data; it has: {shown}")
            for column, i in first.items() if column not in names]


def _type_family(kind: pa.DataType) -> str | None:
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_null(kind):
        return None  # an all-null sample says nothing about the type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return "numeric"
    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_temporal(kind):
        return "datetime"
    return "text"


def _type_mismatches(config: Config, reference: pa.Schema, analysis: pa.Schema) -> list[Problem]:
    problems = []
    skip = {config.model.timestamp}  # dates may be text in CSV and datetimes in parquet; parsed either way
    for name in reference.names:
        if name not in analysis.names or name in skip:
            continue
        ref, ana = _type_family(reference.field(name).type), _type_family(analysis.field(name).type)
        if ref and ana and ref != ana:
            problems.append(Problem("type_mismatch", "data.analysis",
                                    f"column {name!r} is {ana} ({analysis.field(name).type}) in the analysis but "
                                    f"{ref} ({reference.field(name).type}) in the reference"))
    return problems


def _targets_problems(config: Config, schema: pa.Schema, analysis: pa.Schema | None) -> list[Problem]:
    problems = []
    id_column, y_true = config.model.id, config.model.y_true
    if not id_column:
        problems.append(Problem("targets_columns", "model.id", "data.targets is given, so model.id is needed "
                                                               "to join the late labels to the analysis rows"))
    for key, column in (("model.id", id_column), ("model.y_true", y_true)):
        if column and column not in schema.names:
            problems.append(Problem("targets_columns", "data.targets",
                                    f"column {column!r} ({key}) is not in the targets data; it has: "
                                    f"{', '.join(schema.names[:15])}"))
    if id_column and id_column in schema.names:
        ids = sources.column(config, "targets", id_column)
        # labels without an id are left out by the run, with a warning: no problem, and never "repeated"
        counts = pc.value_counts(ids.drop_null())
        repeated = [c["values"] for c in counts.to_pylist() if c["counts"] > 1]
        if repeated:
            problems.append(Problem("duplicate_ids", "data.targets",
                                    f"{len(repeated)} ids occur more than once in column {id_column!r}, e.g. "
                                    f"{repeated[:5]}; each analysis row must get one label"))
    return problems


def _sample(config: Config, period: str, schema: pa.Schema) -> pa.Table:
    """The first rows of the role columns a period has."""
    wanted = [c for c in config.model.role_columns() if c in schema.names]
    return sources.sample(config, period, wanted, SAMPLE_ROWS)


def _value_problems(config: Config, period: str, table: pa.Table, classes: set[str]) -> list[Problem]:
    """Checks on the first rows: probabilities in [0, 1], predicted classes, parseable timestamps."""
    model = config.model
    problems = []
    probas = model.y_pred_proba if isinstance(model.y_pred_proba, dict) else {None: model.y_pred_proba}
    for column in probas.values():
        if column and column in table.column_names:
            problems += _probability_problems(table.column(column), column, period)
    if model.problem_type != "regression" and classes and model.y_pred in table.column_names:
        predicted = set(string_values(table.column(model.y_pred)).drop_null().unique().to_pylist())
        unknown = sorted(predicted - classes)
        if unknown:
            problems.append(Problem("y_pred_classes", f"data.{period}",
                                    f"column {model.y_pred!r} (model.y_pred) holds {unknown[:5]}, which are "
                                    f"not among the classes {sorted(classes)}"))
    if model.timestamp and model.timestamp in table.column_names:
        problems += _timestamp_problems(table.column(model.timestamp), model.timestamp, period,
                                        model.timestamp_format)
    return problems


def _probability_problems(values: pa.ChunkedArray, column: str, period: str) -> list[Problem]:
    kind = values.type
    if not (pa.types.is_floating(kind) or pa.types.is_integer(kind) or pa.types.is_decimal(kind)):
        return [Problem("proba_range", f"data.{period}", f"column {column!r} holds {kind} values; probabilities "
                                                         "must be numbers in [0, 1]")]
    array = np.asarray(pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False), dtype=float)
    missing = int(np.isnan(array).sum())
    outside = int(((array < 0) | (array > 1)).sum())
    if not (missing or outside):
        return []
    found = [f"{n} {what}" for n, what in ((outside, "outside [0, 1]"), (missing, "missing or NaN")) if n]
    return [Problem("proba_range", f"data.{period}",
                    f"column {column!r} has {' and '.join(found)} in its first {len(array):,} rows; "
                    "probabilities must lie in [0, 1]")]


def _classes(config: Config, reference_sample: pa.Table | None) -> set[str]:
    """The class labels: binary is 0/1; multiclass the y_pred_proba mapping's keys, else the
    labels in the reference sample."""
    model = config.model
    if model.problem_type == "binary":
        return {"0", "1"}
    if isinstance(model.y_pred_proba, dict):
        return {label_text(k) for k in model.y_pred_proba}
    if reference_sample is not None and model.y_true and model.y_true in reference_sample.column_names:
        return set(string_values(reference_sample.column(model.y_true)).drop_null().unique().to_pylist())
    return set()


def _label_problems(config: Config, reference: pa.Table | None, classes: set[str]) -> list[Problem]:
    """A reference without some class's labels, blamed on the labels (``model.y_true``), not on the
    predictions. Only decided when the sample is the whole reference: a reference sorted by label
    could hold one class in its first rows."""
    model = config.model
    if (model.problem_type == "regression" or reference is None or not model.y_true
            or model.y_true not in reference.column_names or reference.num_rows >= SAMPLE_ROWS):
        return []
    held = set(string_values(reference.column(model.y_true)).drop_null().unique().to_pylist())
    absent = sorted(classes - held)
    if not absent:
        return []
    return [Problem("y_true_classes", "data.reference",
                    f"column {model.y_true!r} (model.y_true) has no row of class {absent[:5]} in the reference "
                    f"(its labels are {sorted(held)[:5]}); performance is learned from a reference that holds "
                    "every class")]


def _timestamp_problems(values: pa.ChunkedArray, column: str, period: str,
                        fmt: str | None = None) -> list[Problem]:
    """The run's own parser on the sampled rows, with the config's ``model.timestamp_format``:
    ambiguous or mixed formats, or values that format does not read, are problems here too."""
    try:
        parse_timestamps(values, column, fmt)
    except InvalidData as exc:
        return [Problem("timestamp_parse", f"data.{period}", str(exc))]
    return []


def _size_problems(config: Config) -> list[Problem]:
    chunking = config.chunking
    try:
        rows = sources.row_count(config, "reference")
    except sources.SourceError as exc:
        return [Problem(exc.kind, exc.where, str(exc).split(": ", 1)[1])]
    if chunking.chunk_size and rows < chunking.chunk_size:
        return [Problem("reference_too_small", "chunking.chunk_size",
                        f"the reference has {rows:,} rows, fewer than one chunk of {chunking.chunk_size:,}")]
    if chunking.chunk_number and rows < chunking.chunk_number:
        return [Problem("reference_too_small", "chunking.chunk_number",
                        f"the reference has {rows:,} rows, fewer than {chunking.chunk_number} chunks need")]
    return []
