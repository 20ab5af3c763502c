"""Composite hotspot index: normalisation, classes, scoring methods and weight sensitivity.

Pure numpy. Indicator values arrive as a float matrix ``values`` (units x indicators) with
NaN for missing values; missing values are skipped, never treated as zero.

With a ``reference`` matrix (the same indicators for a reference population, e.g. the whole
state) every statistic that ranks or scales is taken from the reference instead of the input:
percentile ranks, mean and sd (z-score), minimum and maximum (min-max), the product's 0-10
maxima and the score percentile (the reference scored the same way). So a city's districts
get the percentiles they would have among the state's units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

PERCENTILE, ZSCORE, MINMAX, NONE = 0, 1, 2, 3
ADDITIVE, COUNT, PRODUCT = 0, 1, 2
WEAK, STRICT = 0, 1

LOW, MEDIUM, HIGH = 1, 2, 3


#: Translation context of the messages below (the algorithm translates them with it).
CONTEXT = "composite_index"


def QT_TRANSLATE_NOOP(context: str, text: str) -> str:  # noqa: N802 (Qt name, found by build_translations)
    """Mark ``text`` for translation without translating it (this module does not import Qt)."""
    return text


@dataclass(frozen=True)
class Message:
    """A user message: an English template (translatable in ``CONTEXT``) and its values."""

    template: str
    values: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.template.format(**self.values)


class IndexSpecError(ValueError):
    """Invalid index specification (weights, maxima, data); ``message`` holds the template."""

    def __init__(self, template: str, **values) -> None:
        self.message = Message(template, values)
        super().__init__(str(self.message))


def percentile_rank(x: np.ndarray, rule: int = WEAK, against: np.ndarray | None = None) -> np.ndarray:
    """Percentile rank 0-100 of every non-NaN value among the non-NaN values (NaN stays NaN).

    ``WEAK``: 100 · #(values ≤ x) / n (the maximum gets 100); ``STRICT``: 100 · #(values < x) / n
    (the minimum gets 0, as ``pandas.rank(method="min") - 1``). The values are those of
    ``against`` when given (a reference distribution), else of ``x`` itself.
    """
    x = np.asarray(x, dtype=float)
    basis = x if against is None else np.asarray(against, dtype=float)
    out = np.full(x.shape, np.nan)
    valid = ~np.isnan(x)
    values = np.sort(basis[~np.isnan(basis)])
    if values.size == 0:
        return out
    side = "right" if rule == WEAK else "left"
    out[valid] = 100.0 * np.searchsorted(values, x[valid], side=side) / values.size
    return out


def normalise(
    x: np.ndarray, method: int, rule: int = WEAK, against: np.ndarray | None = None
) -> tuple[np.ndarray, bool]:
    """Normalised ``x`` (higher stays higher) and whether the basis was constant (no spread).

    The statistics (ranks, mean, sd, minimum, maximum) come from ``against`` when given, else
    from ``x``. z-score uses the population standard deviation; a constant indicator becomes 0
    for z-score and min-max (no division by zero).
    """
    x = np.asarray(x, dtype=float)
    basis = x if against is None else np.asarray(against, dtype=float)
    valid = basis[~np.isnan(basis)]
    constant = valid.size > 0 and bool(np.all(valid == valid[0]))
    if method == PERCENTILE:
        return percentile_rank(x, rule, against), constant
    if method == NONE:
        return x.copy(), constant
    if constant:
        return np.where(np.isnan(x), np.nan, 0.0), True
    if method == ZSCORE:
        return (x - valid.mean()) / valid.std(), False
    if method == MINMAX:
        return (x - valid.min()) / (valid.max() - valid.min()), False
    raise ValueError(f"unknown normalisation {method}")


def classes(pct: np.ndarray, high_share: float) -> np.ndarray:
    """Class per percentile rank: 3 above 100·(1 − high_share), 1 at or below 100·high_share, else 2; 0 = missing."""
    pct = np.asarray(pct, dtype=float)
    out = np.full(pct.shape, MEDIUM, dtype=int)
    with np.errstate(invalid="ignore"):
        out[pct > 100.0 * (1.0 - high_share)] = HIGH
        out[pct <= 100.0 * high_share] = LOW
    out[np.isnan(pct)] = 0
    return out


def parse_assignments(text: str, allowed: list[str], what: str) -> dict[str, float]:
    """Parse ``"name=number;name=number"`` (decimal point or comma) into a dict; names must be in ``allowed``."""
    result: dict[str, float] = {}
    for part in (text or "").replace("\n", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise IndexSpecError(
                QT_TRANSLATE_NOOP("composite_index", "{what}: '{part}' is not of the form name=number."),
                what=what,
                part=part,
            )
        name, _, number = (s.strip() for s in part.partition("="))
        if name not in allowed:
            raise IndexSpecError(
                QT_TRANSLATE_NOOP("composite_index", "{what}: unknown name '{name}'; expected one of {allowed}."),
                what=what,
                name=name,
                allowed=", ".join(allowed),
            )
        try:
            value = float(number.replace(",", "."))
        except ValueError:
            raise IndexSpecError(
                QT_TRANSLATE_NOOP("composite_index", "{what}: '{number}' for '{name}' is not a number."),
                what=what,
                number=number,
                name=name,
            ) from None
        if not math.isfinite(value) or value < 0:
            raise IndexSpecError(
                QT_TRANSLATE_NOOP(
                    "composite_index", "{what}: the value for '{name}' must be a finite number ≥ 0, not {number}."
                ),
                what=what,
                name=name,
                number=number,
            )
        result[name] = value
    return result


@dataclass
class IndexSpec:
    """What to compute: indicator names, their group, orientation and weight, and the method."""

    names: list[str]
    is_env: list[bool]
    inverted: list[bool]
    weights: list[float]
    method: int = ADDITIVE
    normalisation: int = PERCENTILE
    high_share: float = 0.25
    rule: int = WEAK
    env_max: float | None = None
    soc_max: float | None = None


@dataclass
class IndexResult:
    """Per-unit results (arrays of length n, NaN where undefined) and warnings."""

    score: np.ndarray
    score_pct: np.ndarray
    rank: np.ndarray
    n_high: np.ndarray
    env_score: np.ndarray
    soc_score: np.ndarray
    n_missing: np.ndarray
    normalised: np.ndarray
    cls: np.ndarray
    top_share: np.ndarray
    warnings: list[Message] = field(default_factory=list)


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted mean over the non-NaN columns; rows of weight sets ``weights`` (runs x k) -> (runs x n)."""
    available = ~np.isnan(values)
    filled = np.where(available, values, 0.0)
    numerator = weights @ filled.T
    denominator = weights @ available.T.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1.0), np.nan)


def _rescale(sub: np.ndarray, maximum: float | None, basis: np.ndarray) -> np.ndarray:
    """Sub-scores (runs x n) to 0-10 by 10·x / max.

    The maximum is the given one, else the maximum per run over the ``basis`` columns (the reference units).
    """
    if maximum is None:
        with np.errstate(invalid="ignore"):
            top = np.nanmax(np.where(np.isnan(sub[:, basis]), -np.inf, sub[:, basis]), axis=1, keepdims=True)
        top = np.where(top > 0, top, np.nan)
    else:
        top = np.full((sub.shape[0], 1), float(maximum))
    return 10.0 * sub / top


def _scores(
    spec: IndexSpec, normalised: np.ndarray, pct: np.ndarray, high: np.ndarray, weights: np.ndarray, basis: np.ndarray
):
    """Score, env and social sub-scores for weight sets ``weights`` (runs x k), each runs x n.

    ``basis``: the units (rows) whose maxima rescale the product.
    """
    env = np.array(spec.is_env, dtype=bool)
    soc = ~env

    def part(values: np.ndarray, mask: np.ndarray, how: str) -> np.ndarray:
        if not mask.any():
            return np.full((weights.shape[0], values.shape[0]), np.nan)
        if how == "count":
            return weights[:, mask] @ high[:, mask].T.astype(float)
        return _weighted_mean(values[:, mask], weights[:, mask])

    if spec.method == ADDITIVE:
        everything = np.ones(len(spec.names), dtype=bool)
        return part(normalised, everything, "mean"), part(normalised, env, "mean"), part(normalised, soc, "mean")
    if spec.method == COUNT:
        everything = np.ones(len(spec.names), dtype=bool)
        return part(normalised, everything, "count"), part(normalised, env, "count"), part(normalised, soc, "count")
    if spec.method == PRODUCT:
        source = normalised if spec.normalisation == NONE else pct
        env_s = _rescale(part(source, env, "mean"), spec.env_max, basis)
        soc_s = _rescale(part(source, soc, "mean"), spec.soc_max, basis)
        return env_s * soc_s, env_s, soc_s
    raise ValueError(f"unknown method {spec.method}")


def _rank_worst_first(score: np.ndarray) -> np.ndarray:
    """Rank 1 = highest score; ties share the better rank; NaN stays NaN."""
    out = np.full(score.shape, np.nan)
    valid = ~np.isnan(score)
    values = np.sort(-score[valid])
    out[valid] = np.searchsorted(values, -score[valid], side="left") + 1
    return out


def _normalise_all(stacked: np.ndarray, basis: np.ndarray, spec: IndexSpec) -> tuple[np.ndarray, np.ndarray, list]:
    """Normalised values and percentile ranks of all rows against the ``basis`` rows, and warnings."""
    rows, k = stacked.shape
    oriented = np.where(np.array(spec.inverted, dtype=bool), -stacked, stacked)
    normalised = np.full((rows, k), np.nan)
    pct = np.full((rows, k), np.nan)
    warnings: list[Message] = []
    for j, name in enumerate(spec.names):
        column = oriented[:, j]
        own = column if basis.all() else column[~basis]
        if np.all(np.isnan(own)):
            raise IndexSpecError(
                QT_TRANSLATE_NOOP("composite_index", "Indicator '{name}' has no values (all missing)."), name=name
            )
        if np.all(np.isnan(column[basis])):
            raise IndexSpecError(
                QT_TRANSLATE_NOOP("composite_index", "Indicator '{name}' has no values in the reference."), name=name
            )
        normalised[:, j], constant = normalise(column, spec.normalisation, spec.rule, column[basis])
        pct[:, j] = percentile_rank(column, spec.rule, column[basis])
        if constant and int(basis.sum()) > 1:
            text = QT_TRANSLATE_NOOP(
                "composite_index",
                "Indicator '{name}' has the same value everywhere; it does not differentiate the units.",
            )
            warnings.append(Message(text, {"name": name}))
    return normalised, pct, warnings


def compute_index(
    values: np.ndarray,
    spec: IndexSpec,
    mc_runs: int = 0,
    mc_spread: float = 0.5,
    seed: int = 0,
    progress=None,
    reference: np.ndarray | None = None,
) -> IndexResult:
    """Compute the composite index of ``values`` (units x indicators, NaN = missing).

    ``reference`` (units x the same indicators): the population that ranks and scales, see the
    module docstring; None ranks the input among itself. With ``mc_runs`` > 0 every weight is
    multiplied by an independent uniform factor in [1 − mc_spread, 1 + mc_spread] per run
    (seeded), and ``top_share`` is the share of runs in which a unit falls in the high class of
    the score (percentile > 100·(1 − high_share)). ``progress(fraction)`` is called during the
    Monte-Carlo runs and may return True to cancel.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or values.shape[1] != len(spec.names):
        raise ValueError("values must be a units x indicators matrix matching the indicator names.")
    if not 0.0 < spec.high_share < 1.0:
        raise IndexSpecError(
            QT_TRANSLATE_NOOP(
                "composite_index", "HIGH_SHARE must lie between 0 and 1 (e.g. 0.25 for the worst quarter)."
            )
        )
    weights = np.asarray(spec.weights, dtype=float)
    if weights.sum() <= 0:
        raise IndexSpecError(QT_TRANSLATE_NOOP("composite_index", "At least one indicator needs a weight above 0."))
    n = len(values)
    stacked = values if reference is None else np.vstack([values, np.asarray(reference, dtype=float)])
    basis = np.arange(len(stacked)) >= (0 if reference is None else n)
    normalised, pct, warnings = _normalise_all(stacked, basis, spec)
    cls = classes(pct, spec.high_share)
    high = cls == HIGH
    score, env_score, soc_score = (a[0] for a in _scores(spec, normalised, pct, high, weights[None, :], basis))
    if spec.method == PRODUCT and spec.normalisation != NONE and spec.normalisation != PERCENTILE:
        text = QT_TRANSLATE_NOOP(
            "composite_index",
            "The CalEnviroScreen product always combines percentile ranks; NORMALIZATION only sets <field>_n.",
        )
        warnings.append(Message(text))
    top_share = np.full(n, np.nan)
    if mc_runs > 0:
        top_share = _monte_carlo(spec, (normalised, pct, high, basis), weights, mc_runs, mc_spread, seed, progress)
    return IndexResult(
        score=score[:n],
        score_pct=percentile_rank(score[:n], spec.rule, score[basis]),
        rank=_rank_worst_first(score[:n]),
        n_high=high[:n].sum(axis=1).astype(float),
        env_score=env_score[:n],
        soc_score=soc_score[:n],
        n_missing=np.isnan(values).sum(axis=1).astype(float),
        normalised=normalised[:n],
        cls=cls[:n],
        top_share=top_share,
        warnings=warnings,
    )


def _monte_carlo(spec, prepared, weights, runs, spread, seed, progress) -> np.ndarray:
    """Share of weight-perturbed runs in which each input unit's score is in the high class.

    ``prepared``: (normalised, pct, high, basis) of the stacked input and reference rows.
    """
    if not 0.0 <= spread < 1.0:
        raise IndexSpecError(
            QT_TRANSLATE_NOOP("composite_index", "MC_SPREAD must be at least 0 and below 1 (e.g. 0.5 for ±50 %).")
        )
    normalised, pct, high, basis = prepared
    rng = np.random.default_rng(seed)
    n = int(len(basis) - basis.sum()) or len(basis)
    hits = np.zeros(n)
    counted = np.zeros(n)
    batch = 50
    done = 0
    while done < runs:
        size = min(batch, runs - done)
        factors = rng.uniform(1.0 - spread, 1.0 + spread, size=(size, weights.size))
        score = _scores(spec, normalised, pct, high, weights[None, :] * factors, basis)[0]
        for row in score:
            pct_run = percentile_rank(row[:n], spec.rule, row[basis])
            valid = ~np.isnan(pct_run)
            counted += valid
            hits += valid & (np.nan_to_num(pct_run) > 100.0 * (1.0 - spec.high_share))
        done += size
        if progress is not None and progress(done / runs):
            break
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counted > 0, hits / np.where(counted > 0, counted, 1), np.nan)
