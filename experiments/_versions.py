"""Version 1 against version 2: which mechanism changed a study's answer.

Version 2's market (``default``, ``funnel``) is version 1's (``v1``, ``funnel_v1``) with the
mechanisms of issues 21 and 22 on and economic values from sources. :data:`MECHANISMS`
splits every value in which the two differ into named mechanisms, and
``snowball experiment NAME --without MECHANISM`` runs a study with that mechanism set back to
version 1's values in every arm (an ablation): the study's own runs, with one cause removed.

:func:`changes_since_version_1` writes the report's "Since version 1" paragraph: for each
claim, version 1's outcome (``results/v1/<study>/summary.csv``) against this run's, and,
where full-size ablation runs exist (``results/ablations/without_<m>[+<m>]/<study>/``), the
outcome without those mechanisms, so that "these mechanisms changed this claim" is a measured
sentence (the claim goes back to version 1's outcome when they are set back) or is not
written at all.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from experiments._report import fmt

if TYPE_CHECKING:
    from experiments._plan import Plan

MECHANISMS: dict[str, tuple[str, ...]] = {
    "audience_estimates": ("platform.audience_estimates", "platform.interaction_weight"),
    "interest_dynamics": ("platform.interest_drift", "platform.latent_needs"),
    "warmup_content": ("platform.warmup_content",),
    "run_of_show": ("behaviour.run_of_show",),
    "economics": (
        "economics.profit_accounting",
        "economics.returns",
        "behaviour.role_cost",
        "auction.max_delivery_value",
    ),
}
"""Version 2's mechanisms as ablation units: each names the scenario keys it sets (together
they are exactly the keys in which ``default`` differs from ``v1``; a test checks it).
``economics`` is the sourced economy: profit, returns, the sourced role costs and the
sourced max-delivery bid."""

ABLATIONS_DIR = "ablations"


def flat(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested scenario dictionary as dotted keys."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, Mapping):
            out.update(flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


@cache
def version_differences() -> dict[str, Any]:
    """Every dotted key whose value differs between ``default`` and ``v1``, with version 1's
    value (names and descriptions aside)."""
    from simulation.config import load_scenario, to_dict

    v1, v2 = flat(to_dict(load_scenario("v1"))), flat(to_dict(load_scenario("default")))
    keys = {k for k in v1.keys() | v2.keys() if v1.get(k) != v2.get(k)} - {"name", "description"}
    return {k: v1.get(k) for k in sorted(keys)}


def ablation_overrides(names: Iterable[str]) -> dict[str, Any]:
    """The overrides that set the named mechanisms back to version 1's values."""
    old = version_differences()
    out: dict[str, Any] = {}
    for name in names:
        for key in MECHANISMS[name]:
            out[key] = list(old[key]) if isinstance(old[key], tuple) else old[key]
    return out


def check_names(names: Iterable[str]) -> list[str]:
    """The mechanism names, checked (a UsageError names an unknown one and the choices)."""
    from simulation.errors import UsageError

    names = list(names)
    for n in names:
        if n not in MECHANISMS:
            raise UsageError(
                f"--without {n}: no such mechanism; mechanisms: {', '.join(MECHANISMS)}"
            )
    if len(set(names)) != len(names):
        raise UsageError(f"--without {','.join(names)}: a mechanism is named twice")
    return sorted(names)


def ablate(plan: Plan, names: Iterable[str]) -> Plan:
    """``plan`` with the named mechanisms at version 1's values in every arm.

    An arm that sets one of those keys itself (the study's variable) cannot be ablated in
    that mechanism: refused with a UsageError rather than silently overridden either way.
    """
    from simulation.errors import UsageError

    names = list(names)
    if not names:
        return plan
    over = ablation_overrides(names)
    arms = []
    for arm in plan.arms:
        clash = sorted(set(arm.overrides) & set(over))
        if clash:
            raise UsageError(
                f"--without {','.join(names)}: study {plan.study}'s arm {arm.name} sets "
                f"{', '.join(clash)} itself (the variable under study); it cannot be ablated"
            )
        arms.append(replace(arm, overrides={**over, **dict(arm.overrides)}))
    return replace(plan, arms=tuple(arms), notes={**dict(plan.notes), "without": names})


def ablation_dir(results: Path, name: str, size: str, without: Iterable[str]) -> Path:
    """Where ``--without`` writes: ``results/ablations/without_<m>[+<m>]/<study>/`` at full
    size, under ``results/<size>/`` at the others (never over the published results)."""
    root = results if size == "full" else results / size
    return root / ABLATIONS_DIR / ("without_" + "+".join(sorted(without))) / name


def _claims(path: Path) -> pd.DataFrame | None:
    if not path.exists():
        return None
    df = pd.read_csv(path)
    df = df[df["kind"] == "test"]
    return df.set_index("claim") if "claim" in df.columns else None


def _short(outcome: str) -> str:
    return str(outcome).replace(" (confirmed)", "")


def _effect(row: pd.Series) -> str:
    lo, hi = row.get("effect_low", math.nan), row.get("effect_high", math.nan)
    return f"{fmt(float(row['effect']))} [{fmt(float(lo))}, {fmt(float(hi))}]"


def label(ms: tuple[str, ...]) -> str:
    """``run_of_show`` or ``economics`` + ``run_of_show``: an ablation's mechanisms."""
    return " + ".join(f"`{m}`" for m in ms)


def stored_ablations(results: Path, study: str) -> dict[tuple[str, ...], pd.DataFrame]:
    """The claims of every full-size ablation of ``study`` stored under ``results``
    (``ablations/without_<m>[+<m>]/<study>/summary.csv``), keyed by its mechanisms; single
    mechanisms first, then in name order."""
    out = {}
    for folder in sorted((Path(results) / ABLATIONS_DIR).glob("without_*")):
        ms = tuple(folder.name.removeprefix("without_").split("+"))
        if not set(ms) <= set(MECHANISMS):
            continue
        claims = _claims(folder / study / "summary.csv")
        if claims is not None:
            out[ms] = claims
    return dict(sorted(out.items(), key=lambda kv: (len(kv[0]), kv[0])))


def changes_since_version_1(
    study: str, summary: pd.DataFrame, out: Path, size: str, without: Iterable[str] = ()
) -> list[str]:
    """The report's "Since version 1" lines (Markdown), or [] when there is nothing to
    compare: a run that is itself an ablation, or no version-1 summary of this study beside
    the output folder (``<results>/v1/<study>/summary.csv``, full size only)."""
    if list(without) or size != "full":
        return []
    results = Path(out).resolve().parent
    old = _claims(results / "v1" / study / "summary.csv")
    if old is None:
        return []
    new = summary[summary["kind"] == "test"].set_index("claim")
    abl = stored_ablations(results, study)
    lines = ["## Since version 1", ""]
    lines.append(
        "Version 1's results are in `results/v1/" + study + "/` (the same design, version 1's "
        "market: `v1`, `funnel_v1`). Each claim's effect [95% CI] and outcome, version 1 → "
        "version 2"
        + (
            "; with mechanisms set back to version 1's values (ablations of this study's "
            "runs: " + "; ".join(label(m) for m in abl) + ")."
            if abl
            else "."
        )
    )
    lines.append("")
    changed, attributed = 0, []
    for claim, row in new.iterrows():
        if claim not in old.index:
            lines.append(f"- `{claim}`: new: {_effect(row)}, {_short(row['outcome'])}.")
            continue
        o = old.loc[claim]
        same = _short(o["outcome"]) == _short(row["outcome"])
        text = (
            f"- `{claim}`: {_effect(o)}, {_short(o['outcome'])} → {_effect(row)}, "
            f"{_short(row['outcome'])}" + ("" if same else " (**changed**)")
        )
        if not same:
            changed += 1
            back = [m for m, c in abl.items() if claim in c.index and
                    _short(c.loc[claim]["outcome"]) == _short(o["outcome"])]  # fmt: skip
            parts = [
                f"without {label(m)} {_effect(c.loc[claim])}, {_short(c.loc[claim]['outcome'])}"
                for m, c in abl.items()
                if claim in c.index
            ]
            if parts:
                text += "; " + "; ".join(parts)
            if back:
                attributed.append((claim, back))
        lines.append(text + ".")
    lines.append("")
    if not changed:
        lines.append("No claim's outcome changed.")
    else:
        summary_text = f"{changed} claim{'s' if changed != 1 else ''} changed outcome."
        if not abl:
            summary_text += (
                " No ablation runs of this study are stored, so which mechanism changed "
                + ("it" if changed == 1 else "them")
                + " is not measured here."
            )
        else:
            for claim, ms in attributed:
                summary_text += (
                    f" Measured: `{claim}` goes back to its version-1 outcome with "
                    + " or with ".join(label(m) for m in ms)
                    + " set back, so "
                    + ("that change" if len(ms) == 1 else "each of those changes")
                    + " is enough to make the difference."
                )
            rest = changed - len(attributed)
            if rest:
                summary_text += (
                    f" For {rest} changed claim{'s' if rest != 1 else ''} no stored ablation "
                    "restores version 1's outcome: the change comes from mechanisms together "
                    "or from ones not ablated here."
                )
        lines.append(summary_text)
    return lines
