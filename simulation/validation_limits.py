"""Validation case ``platform_limits``: the mixed platform at its limits is the pure policy.

At ``platform.search_share`` 0 the mixed platform (:mod:`simulation.distribution.mixed`)
must be the interest feed, and at 1 the search funnel. Each run of the case builds the same
scenario twice with the same seed, once under ``mixed`` and once under the pure policy of
that limit, and compares the run's totals: GMV, impressions and ad spend. The check per
statistic is an equivalence test (two one-sided t-tests, TOST) on the per-seed differences
relative to the pure policy's mean over the seeds, with the equivalence margin
:data:`MARGIN` (1 % of the pure policy's mean), at the validation's Bonferroni level. A
non-significant difference would not do: TOST passes only when the data show the
difference to be small.

The design makes the limits exact (the delegate policy alone is built, on the same
generators, and no propensity is drawn), so the differences are 0 and the check passes
with p = 0; if the limit were broken — an extra draw, a different pacing — the runs would
differ by the run-to-run noise (several per cent of GMV at this size, far more of ad
spend) and the test would fail at this margin.

Just inside the limits (``search_share`` = ``inside`` and 1 - ``inside``, the same seeds)
the case also reports, without a verdict, how far the platform moves from the pure policy:
the figure's right-hand panel and the checks' notes. That difference is O(inside) plus the
noise of runs whose draws diverge (the entrance changes which draws follow).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from simulation.config import Scenario, replace
from simulation.model import SnowballModel
from simulation.validation import CaseOutput, Measurement, _require, _runs, _spawn

MARGIN = 0.01
"""Equivalence margin: a difference within 1 % of the pure policy's mean counts as none."""

PURE = {0.0: "interest_feed", 1.0: "search_funnel"}
"""The pure policy at each limit of ``search_share``."""

STATISTICS = {"GMV": "gmv", "impressions": "impressions", "ad spend": "ad_spend"}
"""Run totals compared (label -> column of the daily stream table)."""


def run_totals(sc: Scenario, seed: int) -> np.ndarray:
    """The run's totals of :data:`STATISTICS`, in that order (float64)."""
    model = SnowballModel(sc, seed)
    model.run_days()
    rec = model.daily_records
    return np.array([sum(float(r[col].sum()) for r in rec) for col in STATISTICS.values()])


def relative_differences(mixed: np.ndarray, pure: np.ndarray) -> np.ndarray:
    """(mixed - pure) per run, over the pure policy's mean per statistic (runs x stats); a
    statistic whose pure mean is 0 is compared in absolute terms (0 / 0 would hide a
    difference)."""
    scale = np.abs(pure.mean(axis=0))
    return (mixed - pure) / np.where(scale > 0, scale, 1.0)


def _check(sc: Scenario) -> float:
    _require(sc, sc.policy == "mixed", "policy", sc.policy, "must be 'mixed' here")
    share = sc.platform.search_share
    _require(sc, share in PURE, "platform.search_share", share, "must be 0 or 1 here (a limit)")
    return share


def platform_limits(
    scenarios: list[Scenario], size: dict[str, Any], ss: np.random.SeedSequence
) -> CaseOutput:
    """Run the case (see the module docstring); one scenario per limit."""
    out = CaseOutput()
    shares = [_check(sc) for sc in scenarios]
    inside = float(size["inside"])
    variants = []
    for sc, share, child in zip(scenarios, shares, ss.spawn(len(scenarios)), strict=True):
        runs = _runs(size, sc)
        seeds, _ = _spawn(child, runs)
        out.seeds[sc.name] = seeds
        pure_sc = replace(sc, policy=PURE[share])
        near = abs(share - inside)
        near_sc = replace(sc, **{"platform.search_share": near})
        pure = np.array([run_totals(pure_sc, s) for s in seeds])
        mixed = np.array([run_totals(sc, s) for s in seeds])
        just_inside = np.array([run_totals(near_sc, s) for s in seeds])
        d = relative_differences(mixed, pure)
        d_in = relative_differences(just_inside, pure)
        label = f"search_share {share:g} against {PURE[share]}"
        for j, name in enumerate(STATISTICS):
            out.measurements.append(
                Measurement(
                    "platform_limits",
                    label,
                    f"{name}: (mixed − {PURE[share]}) ÷ mean of {PURE[share]}, paired seeds",
                    0.0,
                    kind="equivalence",
                    relation="≈",
                    samples=d[:, j],
                    margin=MARGIN,
                    limit=f"|difference| < {MARGIN:g} (TOST)",
                    note=f"{runs} seeds; interval: the TOST's 1 − 2 × level one; "
                    f"{PURE[share]} mean {pure[:, j].mean():.6g}; "
                    f"just inside (search_share {near:g}, not tested): "
                    f"{d_in[:, j].mean():+.4f} ± {d_in[:, j].std(ddof=1) if runs > 1 else 0:.4f} "
                    "(mean ± sd over seeds)",
                )
            )
        variants.append(
            {
                "label": label,
                "pure": pure,
                "mixed": mixed,
                "inside": d_in,
                "near": near,
            }
        )
    out.figure = {"variants": variants, "statistics": list(STATISTICS), "margin": MARGIN}
    return out


def figure(data: dict[str, Any], axes: np.ndarray) -> None:
    """Left: each run's totals under the mixed platform at the limit against the pure
    policy's (on the diagonal when equal). Right: the relative differences just inside the
    limits, per statistic, with the equivalence margin for scale."""
    stats_ = data["statistics"]
    markers = ("o", "s", "^")
    for i, v in enumerate(data["variants"]):
        for j, name in enumerate(stats_):
            pure, mixed = v["pure"][:, j], v["mixed"][:, j]
            scale = max(abs(pure).mean(), 1e-12)
            axes[0].scatter(
                pure / scale,
                mixed / scale,
                marker=markers[j % len(markers)],
                color=f"C{i}",
                alpha=0.7,
                label=f"{v['label']}: {name}",
            )
            x = np.full(len(v["inside"]), j + 0.2 * (i - 0.5))
            axes[1].scatter(
                x,
                v["inside"][:, j],
                color=f"C{i}",
                alpha=0.7,
                label=f"share {v['near']:g} vs {v['label'].split()[-1]}" if j == 0 else None,
            )
    lo, hi = axes[0].get_xlim()
    axes[0].plot([lo, hi], [lo, hi], color="grey", ls="--", lw=1, label="mixed = pure")
    axes[0].set(
        title="At the limits: run totals, mixed against pure",
        xlabel="pure policy (÷ its mean)",
        ylabel="mixed platform (÷ the pure mean)",
    )
    axes[0].legend(fontsize=7)
    m = data["margin"]
    axes[1].axhspan(-m, m, color="grey", alpha=0.2, label=f"± {m:g} (the limits' margin)")
    axes[1].axhline(0, color="grey", lw=1)
    axes[1].set_xticks(range(len(stats_)), stats_)
    axes[1].set(
        title="Just inside the limits (reported, not tested)",
        ylabel="(mixed − pure) ÷ pure mean, per seed",
    )
    axes[1].legend(fontsize=7)
