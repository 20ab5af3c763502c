"""Composite hotspot index: normalisation, classes, scoring methods and weight sensitivity.

Pure numpy. Indicator values arrive as a float matrix ``values`` (units x indicators) with
NaN for missing values; missing values are skipped, never treated as zero.
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


def percentile_rank(x: np.ndarray, rule: int = WEAK) -> np.ndarray:
    """Percentile rank 0-100 of every non-NaN value among the non-NaN values (NaN stays NaN).

    ``WEAK``: 100 · #(values ≤ x) / n (the maximum gets 100); ``STRICT``: 100 · #(values < x) / n
    (the minimum gets 0, as ``pandas.rank(method="min") - 1``).
    """
    x = np.asarray(x, dtype=float)
    out = np.full(x.shape, np.nan)
    valid = ~np.isnan(x)
    values = np.sort(x[valid])
    if values.size == 0:
        return out
    side = "right" if rule == WEAK else "left"
    out[valid] = 100.0 * np.searchsorted(values, x[valid], side=side) / values.size
    return out


def normalise(x: np.ndarray, method: int, rule: int = WEAK) -> tuple[np.ndarray, bool]:
    """Normalised ``x`` (higher stays higher) and whether it was constant (no spread).

    z-score uses the population standard deviation; a constant indicator becomes 0
    for z-score and min-max (no division by zero).
    """
    x = np.asarray(x, dtype=float)
    valid = x[~np.isnan(x)]
    constant = valid.size > 0 and bool(np.all(valid == valid[0]))
    if method == PERCENTILE:
        return percentile_rank(x, rule), constant
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


def _rescale(sub: np.ndarray, maximum: float | None) -> np.ndarray:
    """Sub-scores (runs x n) to 0-10 by 10·x / max (the given maximum, else the maximum per run)."""
    if maximum is None:
        with np.errstate(invalid="ignore"):
            top = np.nanmax(np.where(np.isnan(sub), -np.inf, sub), axis=1, keepdims=True)
        top = np.where(top > 0, top, np.nan)
    else:
        top = np.full((sub.shape[0], 1), float(maximum))
    return 10.0 * sub / top


def _scores(spec: IndexSpec, normalised: np.ndarray, pct: np.ndarray, high: np.ndarray, weights: np.ndarray):
    """Score, env and social sub-scores for weight sets ``weights`` (runs x k), each runs x n."""
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
        env_s = _rescale(part(source, env, "mean"), spec.env_max)
        soc_s = _rescale(part(source, soc, "mean"), spec.soc_max)
        return env_s * soc_s, env_s, soc_s
    raise ValueError(f"unknown method {spec.method}")


def _rank_worst_first(score: np.ndarray) -> np.ndarray:
    """Rank 1 = highest score; ties share the better rank; NaN stays NaN."""
    out = np.full(score.shape, np.nan)
    valid = ~np.isnan(score)
    values = np.sort(-score[valid])
    out[valid] = np.searchsorted(values, -score[valid], side="left") + 1
    return out


def compute_index(
    values: np.ndarray,
    spec: IndexSpec,
    mc_runs: int = 0,
    mc_spread: float = 0.5,
    seed: int = 0,
    progress=None,
) -> IndexResult:
    """Compute the composite index of ``values`` (units x indicators, NaN = missing).

    With ``mc_runs`` > 0 every weight is multiplied by an independent uniform factor in
    [1 − mc_spread, 1 + mc_spread] per run (seeded), and ``top_share`` is the share of runs in
    which a unit falls in the high class of the score (percentile > 100·(1 − high_share)).
    ``progress(fraction)`` is called during the Monte-Carlo runs and may return True to cancel.
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
    warnings: list[Message] = []
    n, k = values.shape
    oriented = np.where(np.array(spec.inverted, dtype=bool), -values, values)
    normalised = np.full((n, k), np.nan)
    pct = np.full((n, k), np.nan)
    for j, name in enumerate(spec.names):
        column = oriented[:, j]
        if np.all(np.isnan(column)):
            raise IndexSpecError(
                QT_TRANSLATE_NOOP("composite_index", "Indicator '{name}' has no values (all missing)."), name=name
            )
        normalised[:, j], constant = normalise(column, spec.normalisation, spec.rule)
        pct[:, j] = percentile_rank(column, spec.rule)
        if constant and n > 1:
            text = QT_TRANSLATE_NOOP(
                "composite_index",
                "Indicator '{name}' has the same value everywhere; it does not differentiate the units.",
            )
            warnings.append(Message(text, {"name": name}))
    cls = classes(pct, spec.high_share)
    high = cls == HIGH
    score, env_score, soc_score = (a[0] for a in _scores(spec, normalised, pct, high, weights[None, :]))
    if spec.method == PRODUCT and spec.normalisation != NONE and spec.normalisation != PERCENTILE:
        text = QT_TRANSLATE_NOOP(
            "composite_index",
            "The CalEnviroScreen product always combines percentile ranks; NORMALIZATION only sets <field>_n.",
        )
        warnings.append(Message(text))
    score_pct = percentile_rank(score, spec.rule)
    top_share = np.full(n, np.nan)
    if mc_runs > 0:
        top_share = _monte_carlo(spec, normalised, pct, high, weights, mc_runs, mc_spread, seed, progress)
    return IndexResult(
        score=score,
        score_pct=score_pct,
        rank=_rank_worst_first(score),
        n_high=high.sum(axis=1).astype(float),
        env_score=env_score,
        soc_score=soc_score,
        n_missing=np.isnan(values).sum(axis=1).astype(float),
        normalised=normalised,
        cls=cls,
        top_share=top_share,
        warnings=warnings,
    )


def _monte_carlo(spec, normalised, pct, high, weights, runs, spread, seed, progress) -> np.ndarray:
    """Share of weight-perturbed runs in which each unit's score is in the high class."""
    if not 0.0 <= spread < 1.0:
        raise IndexSpecError(
            QT_TRANSLATE_NOOP("composite_index", "MC_SPREAD must be at least 0 and below 1 (e.g. 0.5 for ±50 %).")
        )
    rng = np.random.default_rng(seed)
    n = normalised.shape[0]
    hits = np.zeros(n)
    counted = np.zeros(n)
    batch = 50
    done = 0
    while done < runs:
        size = min(batch, runs - done)
        factors = rng.uniform(1.0 - spread, 1.0 + spread, size=(size, weights.size))
        score = _scores(spec, normalised, pct, high, weights[None, :] * factors)[0]
        for row in score:
            pct_run = percentile_rank(row, spec.rule)
            valid = ~np.isnan(pct_run)
            counted += valid
            hits += valid & (np.nan_to_num(pct_run) > 100.0 * (1.0 - spec.high_share))
        done += size
        if progress is not None and progress(done / runs):
            break
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counted > 0, hits / np.where(counted > 0, counted, 1), np.nan)
