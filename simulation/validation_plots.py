"""Figures of the validation: one per case, theory overlaid on simulation.

Every panel shows the simulated quantity with a pointwise 95% interval over its
replicates (worlds, runs or streams) and the closed form it is tested against. Drawn with
the object API (:class:`matplotlib.figure.Figure`, ``fig.savefig``): importing the module
leaves the caller's matplotlib backend alone.
"""

from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.ticker
import numpy as np
from scipy import stats

from simulation import theory
from simulation.validation_returns import draw as returns_draw
from simulation.validation_run_of_show import draw as run_of_show_draw

SIM = "#4C72B0"
THEORY = "#C44E52"
LIMIT = "#55A868"


def _ci(samples: np.ndarray) -> tuple[float, float, float]:
    x = np.asarray(samples, dtype=float)
    if len(x) < 2:
        return float(x.mean()), float(x.mean()), float(x.mean())
    ci = theory.mean_ci(x)
    return ci.estimate, ci.low, ci.high


def _band(samples: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = np.array([_ci(s) for s in samples])
    return rows[:, 0], rows[:, 1], rows[:, 2]


def polya(data: dict[str, Any], ax_row: np.ndarray) -> None:
    variants = data["variants"]
    for ax, v in zip(ax_row[:-1], variants, strict=False):
        shares = v["shares"].ravel()
        a, k, n = v["alpha"], v["k"], v["n"]
        # Shares are (a + count) / (K a + N): bins of whole counts avoid aliasing.
        top_count = int(np.quantile(shares, 0.995) * (k * a + n) - a) + 1
        step = max(1, round(top_count / 40))
        edges = (a + np.arange(0, top_count + step, step) - 0.5) / (k * a + n)
        ax.hist(
            shares,
            bins=np.maximum(edges, 0),
            density=True,
            color=SIM,
            alpha=0.6,
            label=f"simulated (all {v['shares'].shape[0]} worlds)",
        )
        x = np.linspace(1e-4, edges[-1], 300)
        ax.plot(
            x,
            stats.beta(a, (k - 1) * a).pdf(x),
            color=THEORY,
            label=f"Beta({a:g}, {(k - 1) * a:g}), the limit",
        )
        ax.axvline(1 / k, color="grey", lw=0.8, ls=":")
        ax.set(
            title=f"Pólya urn, {v['label']}: one stream's share after N = {n}",
            xlabel="share of traffic",
            ylabel="density",
        )
        ax.legend(fontsize=8)
    ax = ax_row[-1]
    alphas = np.array([v["alpha"] for v in variants])
    grid = np.linspace(0.5, max(6.0, alphas.max() * 1.2), 100)
    k = variants[0]["k"]
    ax.plot(
        grid,
        theory.dirichlet_expected_gini(grid, k),
        color=LIMIT,
        label="Dirichlet limit ((K−1)/K)Γ(α+½)/(αΓ(α)√π)",
    )
    for i, v in enumerate(variants):
        g = theory.gini(v["shares"])
        mean, lo, hi = _ci(g)
        ax.errorbar(
            v["alpha"],
            mean,
            yerr=[[mean - lo], [hi - mean]],
            fmt="o",
            color=SIM,
            capsize=3,
            label="simulated (95% CI)" if i == 0 else None,
        )
        exact = theory.polya_expected_gini(v["alpha"], v["k"], v["n"])
        ax.plot(
            v["alpha"],
            exact,
            "x",
            color=THEORY,
            ms=9,
            label=f"exact after N = {v['n']}" if i == 0 else None,
        )
    ax.set(title=f"E[Gini], K = {k}", xlabel="α = a / Δ", ylabel="E[Gini]")
    ax.legend(fontsize=8)


def gamma_urn(data: dict[str, Any], axes: np.ndarray) -> None:
    cps = np.asarray(data["checkpoints"])
    colours = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    for v, c in zip(data["variants"], colours, strict=False):
        for ax, key in zip(axes, ("gini", "top"), strict=True):
            mean, lo, hi = _band(v[key])
            ax.plot(cps, mean, "o-", color=c, label=f"simulated, {v['label']}")
            ax.fill_between(cps, lo, hi, color=c, alpha=0.2)
    axes[0].plot(cps, data["polya_gini"], "k--", label="Pólya (γ = 1), exact")
    k = data["variants"][0]["k"]
    axes[0].axhline((k - 1) / k, color="grey", ls=":", lw=0.8)
    axes[0].set(
        xscale="log",
        title="γ-urn: Gini of the shares",
        xlabel="orders N",
        ylabel="Gini",
        ylim=(0, 1),
    )
    axes[1].axhline(1 / k, color="grey", ls=":", lw=0.8, label="1/K (equal shares)")
    axes[1].set(
        xscale="log",
        yscale="log",
        title="γ-urn: the leader's share",
        xlabel="orders N",
        ylabel="largest share",
    )
    for ax in axes:
        ax.legend(fontsize=8)


def fitness_urn(data: dict[str, Any], axes: np.ndarray) -> None:
    from simulation.validation import fitness_growth

    v = data["variants"][0]
    levels = np.asarray(v["levels"], dtype=float)
    fits = np.asarray(v["fits"])
    f_max = fits.max()
    colours = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    grid = np.geomspace(levels[0], levels[-1], 100)
    for fit, samples, c in zip(fits[:-1], v["weights"], colours, strict=False):
        mean, lo, hi = _band(samples)
        axes[0].errorbar(
            levels,
            mean,
            yerr=[mean - lo, hi - mean],
            fmt="o",
            color=c,
            capsize=3,
            label=f"simulated, f = {fit:.3g} (95% CI)",
        )
        rho = fit / f_max
        exact = [fitness_growth(v["a"], rho, b) for b in grid]
        axes[0].plot(
            grid, exact, "-", color=c, alpha=0.8, label=f"exact, slope → f/f_max = {rho:.3g}"
        )
    axes[0].set(
        xscale="log",
        yscale="log",
        title="Fitness urn: E[n_j] against the fittest's n",
        xlabel=f"urn weight n of the fittest stream (f = {f_max:.3g}), ∝ N",
        ylabel="mean urn weight n_j",
    )
    axes[0].legend(fontsize=8)
    mean, lo, hi = _band(v["best_share"])
    axes[1].fill_between(levels, lo, hi, color=SIM, alpha=0.3, label="simulated (95% CI)")
    axes[1].plot(levels, mean, "o-", color=SIM)
    axes[1].axhline(1, color=LIMIT, ls="--", label="limit 1")
    axes[1].set(
        xscale="log",
        title="Fitness urn: share of the fittest stream",
        xlabel="urn weight n of the fittest stream",
        ylabel="share",
        ylim=(0, 1.05),
    )
    axes[1].legend(fontsize=8)


def cascade(data: dict[str, Any], axes: np.ndarray) -> None:
    for v in data["variants"]:
        r, n0 = v["r"], v["n0"]
        if r > 1:
            ax = axes[0]
            k, n = int(v["extinct"].sum()), len(v["extinct"])
            ci = theory.proportion_ci(k, n)
            grid = np.linspace(1.001, max(3.0, 1.5 * r), 200)
            ax.plot(
                grid,
                theory.extinction_probability(grid, n0),
                color=THEORY,
                label=f"q^n0, q = exp(−R(1−q)), n0 = {n0}",
            )
            ax.errorbar(
                [r],
                [ci.estimate],
                yerr=[[ci.estimate - ci.low], [ci.high - ci.estimate]],
                fmt="o",
                color=SIM,
                capsize=4,
                label=f"simulated ({n} streams, 95% CI)",
            )
            ax.set(
                title=f"Cold start, R = {r:.3g}: share of cascades that die out",
                xlabel="R (mean impressions begotten per impression)",
                ylabel="extinction probability",
                ylim=(0, 1),
            )
            ax.legend(fontsize=8)
        else:
            ax = axes[1]
            reach = v["reach"]
            top = int(np.quantile(reach, 0.995)) + 1
            bins = np.arange(n0, top + 1)
            counts = np.bincount(reach, minlength=top + 1)[n0 : top + 1]
            ax.bar(bins, counts / len(reach), color=SIM, alpha=0.6, label="simulated")
            ax.plot(
                bins,
                theory.borel_tanner_pmf(bins, n0, r),
                "o",
                color=THEORY,
                ms=3,
                label=f"Borel–Tanner, mean n0/(1−R) = {n0 / (1 - r):.3g}",
            )
            ax.axvline(reach.mean(), color=SIM, ls="--", label=f"simulated mean {reach.mean():.3g}")
            ax.set(
                title=f"Cold start, R = {r:.3g}, n0 = {n0}: total reach",
                xlabel="impressions until the cascade dies",
                ylabel="share of streams",
            )
            ax.legend(fontsize=8)


def bass(data: dict[str, Any], axes: np.ndarray) -> None:
    v = data["variants"][0]
    p, q, curves, f_day = v["p"], v["q"], v["curves"], v["f_day"]
    days = np.arange(1, curves.shape[1] + 1)
    mean, lo, hi = _band(list(curves.T))
    axes[0].fill_between(days, lo, hi, color=SIM, alpha=0.3, label="simulated (95% CI)")
    axes[0].plot(days, mean, color=SIM)
    axes[0].plot(
        np.arange(len(f_day)),
        f_day,
        "o",
        ms=3,
        color=THEORY,
        label="Bass, daily steps (exact for the model)",
    )
    t = np.linspace(0, len(f_day) - 1, 300)
    axes[0].plot(t, theory.bass_cdf(t, p, q), color=LIMIT, ls="--", label="Bass, continuous F(t)")
    axes[0].set(
        title=f"Bass diffusion in the search funnel (p = {p:g}, q = {q:g})",
        xlabel="day",
        ylabel="adopted share F",
    )
    axes[0].legend(fontsize=8)
    daily = np.diff(curves, axis=1, prepend=0.0)
    mean, lo, hi = _band(list(daily.T))
    mid = days - 0.5
    axes[1].fill_between(mid, lo, hi, color=SIM, alpha=0.3, label="simulated (95% CI)")
    axes[1].plot(mid, mean, color=SIM)
    axes[1].plot(
        np.arange(len(f_day) - 1) + 0.5,
        np.diff(f_day),
        "o",
        ms=3,
        color=THEORY,
        label="Bass, daily steps",
    )
    axes[1].plot(t, theory.bass_pdf(t, p, q), color=LIMIT, ls="--", label="Bass f(t), continuous")
    axes[1].axvline(
        theory.bass_peak_time(p, q),
        color=LIMIT,
        ls=":",
        label=f"ln(q/p)/(p+q) = {theory.bass_peak_time(p, q):.1f}",
    )
    axes[1].set(title="Adoptions per day", xlabel="day", ylabel="share adopting")
    axes[1].legend(fontsize=8)


def auction(data: dict[str, Any], axes: np.ndarray) -> None:
    if "prices" in data:
        d = data["prices"]
        x, n = d["x"], d["n"]
        axes[0].hist(
            x,
            bins=60,
            range=(0, 1),
            density=True,
            color=SIM,
            alpha=0.6,
            label=f"simulated ({len(x):,} slots)",
        )
        g = np.linspace(0, 1, 200)
        axes[0].plot(
            g,
            stats.beta(n - 1, 2).pdf(g),
            color=THEORY,
            label=f"2nd highest of {n} U(0,1): Beta({n - 1}, 2)",
        )
        axes[0].axvline(x.mean(), color=SIM, ls="--", label=f"simulated mean {x.mean():.4f}")
        axes[0].axvline(
            (n - 1) / (n + 1), color=THEORY, ls=":", label=f"(N−1)/(N+1) = {(n - 1) / (n + 1):.4f}"
        )
        axes[0].set(
            title=f"Second-price auction: {d['label']}",
            xlabel="clearing price ÷ v",
            ylabel="density",
        )
        axes[0].legend(fontsize=8)
    if "pacing" in data:
        d = data["pacing"]
        prof = d["profiles"]
        ticks = np.arange(prof.shape[1])
        mean, lo, hi = _band(list(prof.T))
        axes[1].fill_between(ticks, lo, hi, color=SIM, alpha=0.3, label="simulated (95% CI)")
        axes[1].plot(ticks, mean, color=SIM)
        axes[1].axhline(1, color=THEORY, ls="--", label="budget ÷ ticks")
        axes[1].axvspan(
            len(ticks) // 2, len(ticks) - 1, color="grey", alpha=0.1, label="window tested"
        )
        axes[1].set(
            title=f"Pacing: {d['label']}",
            xlabel="tick of the day",
            ylabel="spend per tick ÷ even pace",
        )
        axes[1].legend(fontsize=8)


def platform_limits(data: dict[str, Any], axes: np.ndarray) -> None:
    """Left: each run's totals under the mixed platform at the limit against the pure
    policy's (on the diagonal when equal). Right: the relative differences just inside the
    limits, per statistic, with the equivalence margin for scale."""
    names = data["statistics"]
    markers = ("o", "s", "^")
    for i, v in enumerate(data["variants"]):
        for j, name in enumerate(names):
            pure, mixed = v["pure"][:, j], v["mixed"][:, j]
            scale = max(float(np.abs(pure).mean()), 1e-12)
            axes[0].scatter(
                pure / scale,
                mixed / scale,
                marker=markers[j % len(markers)],
                color=f"C{i}",
                alpha=0.7,
                label=f"{v['label']}: {name}",
            )
            axes[1].scatter(
                np.full(len(v["inside"]), j + 0.2 * (i - 0.5)),
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
    axes[1].set_xticks(range(len(names)), names)
    axes[1].set(
        title="Just inside the limits (reported, not tested)",
        ylabel="(mixed − pure) ÷ pure mean, per seed",
    )
    axes[1].legend(fontsize=7)


def audience_uplift(data: dict[str, Any], axes: np.ndarray) -> None:
    v = data["variants"][0]
    channels = list(v["new"])
    x = np.arange(len(channels))
    for ax, est, title in (
        (axes[0], "new", "uplift (new)"),
        (axes[1], "old", "per-room rate (old)"),
    ):
        rows = [_ci(v[est][c]) for c in channels]
        mean = np.array([r[0] for r in rows])
        err = np.array([[r[0] - r[1] for r in rows], [r[2] - r[0] for r in rows]])
        ax.errorbar(x, mean, yerr=err, fmt="o", color=SIM, label="simulated, 95% CI")
        limit = [float(np.mean(v[f"theory_{est}"][c])) for c in channels]
        trait = [float(np.mean(v["theory_trait"][c])) for c in channels]
        ax.plot(x, limit, "_", ms=24, mew=2, color=THEORY, label="closed form")
        ax.plot(x, trait, "_", ms=24, mew=2, color=LIMIT, label="relative trait, all viewers")
        ax.set_xticks(x, channels)
        ax.set_ylabel("ratio rich / poor audience room")
        ax.set_title(title)
        ax.legend(fontsize=8)


def interest_drift(data: dict[str, Any], axes: np.ndarray) -> None:
    for ax, v in zip(axes, data["variants"], strict=False):
        h, path = v["simulated"], v["theory"]
        days = np.arange(1, h.shape[0] + 1)
        mean, lo, hi = _band(list(h))
        ax.fill_between(days, lo, hi, color=SIM, alpha=0.3, label="simulated mean (95% CI)")
        ax.plot(days, mean, color=SIM)
        ax.plot(np.arange(len(path)), path, "o", ms=3, color=THEORY, label="closed form E[h_d]")
        ax.axhline(
            v["fixed_point"], color=LIMIT, ls="--", label=f"fixed point {v['fixed_point']:.3f}"
        )
        ax.set(
            title=f"Interest drift\n{v['label']}",
            xlabel="day",
            ylabel="remaining gap h = (1 − x_c)/(1 − b_c)",
        )
        ax.legend(fontsize=8)


PANELS = {
    "polya": (4, polya),
    "gamma_urn": (2, gamma_urn),
    "fitness_urn": (2, fitness_urn),
    "cascade": (2, cascade),
    "bass": (2, bass),
    "auction": (2, auction),
    "returns": (1, returns_draw),
    "run_of_show": (1, run_of_show_draw),
    "platform_limits": (2, platform_limits),
    "audience_uplift": (2, audience_uplift),
    "interest_drift": (2, interest_drift),
}


def case_figure(case: str, data: dict[str, Any], path: Path) -> Path | None:
    """Draw the figure of one case into ``path``; None if the case has nothing to draw."""
    if case not in PANELS or not data:
        return None
    n, draw = PANELS[case]
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.2 * n, 4.4), layout="constrained")
    axes = fig.subplots(1, n)
    draw(data, np.atleast_1d(axes))
    for ax in fig.axes:
        # Minor tick labels of log axes overlap; the major ones (powers of ten) suffice.
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    fig.savefig(path, dpi=100)
    return path
