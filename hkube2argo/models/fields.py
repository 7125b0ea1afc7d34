"""Constrained field types whose error messages say what is allowed, in HKube's words."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from . import formats


def _matching(pattern: str, what: str):
    rx = re.compile(pattern)

    def check(value: str) -> str:
        if not rx.search(value):
            raise ValueError(f"'{value}' is not a valid {what}")
        return value

    return check


def _cores(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise ValueError(
                f"'{value}' is not a number of cores: cpu is a plain number such as 0.5 "
                "(Kubernetes quantities like '500m' are not accepted)") from None
    return value


PipelineName = Annotated[
    str,
    Field(min_length=1, description="Letters, digits and ':', '-', '_', '.'.",
          json_schema_extra={"pattern": formats.PIPELINE_NAME}),
    AfterValidator(_matching(formats.PIPELINE_NAME,
                             "pipeline name: use letters, digits and ':', '-', '_', '.'")),
]
ExperimentName = Annotated[
    str,
    Field(min_length=1, max_length=32, json_schema_extra={"pattern": formats.EXPERIMENT_NAME}),
    AfterValidator(_matching(formats.EXPERIMENT_NAME,
                             "experiment name: use letters, digits and ':', '-', '_', '.'")),
]
AlgorithmName = Annotated[
    str,
    Field(min_length=1, max_length=32,
          description="Lowercase letters, digits, '-' and '.', starting and ending with a "
                      "letter or digit; at most 32 characters.",
          json_schema_extra={"pattern": formats.ALGORITHM_NAME}),
    AfterValidator(_matching(
        formats.ALGORITHM_NAME,
        "algorithm name: use lowercase letters, digits, '-' and '.', starting and ending "
        "with a letter or digit (at least 2 characters)")),
]
Url = Annotated[
    str,
    Field(description="An http(s) or ftp(s) URL.", json_schema_extra={"pattern": "^(f|ht)tps?://"}),
    AfterValidator(_matching(formats.URL, "URL: it must start with http://, https://, "
                                          "ftp:// or ftps://")),
]
Image = Annotated[
    str,
    Field(json_schema_extra={"pattern": formats.ALGORITHM_IMAGE}),
    AfterValidator(_matching(formats.ALGORITHM_IMAGE, "image name: it must not contain spaces")),
]
Memory = Annotated[
    str,
    Field(description="A size with a unit (Ki, M, Mi, Gi, m, K, G, T, Ti), at least 4Mi.",
          examples=["256Mi", "2Gi"]),
    AfterValidator(formats.check_algorithm_memory),
]
Cores = Annotated[
    float,
    BeforeValidator(_cores),
    Field(ge=0, description="CPU cores as a plain number, e.g. 0.5."),
]
Tag = Annotated[str, Field(min_length=1, max_length=32)]
