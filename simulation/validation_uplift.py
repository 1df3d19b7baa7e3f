"""Validation case ``audience_uplift``: audience-aware estimates recover a room's traits
whatever audience it was served, where per-room rates credit it for its audience.

Design (``experiments/validation/audience_uplift.toml``, docs/VALIDATION.md case 7). One
category of interest among K; no follows, no needs, no satiation, one activity level, so
the baseline's only varying feature is the viewer's relative interest z. Every tick, with a
fixed exposure schedule and no allocation feedback, each room is shown to ``impressions``
viewers drawn without replacement from its own audience:

- group ``rich``: the viewers whose z in the category is in the top ``AUDIENCE_SHARE``;
- group ``poor``: those in the bottom ``AUDIENCE_SHARE``;
- group ``peers``: every viewer.

The model's own behaviour, accounting and estimators (``platform.audience_estimates``) run
on these impressions. After ``BURN_IN_TICKS`` ticks (the baseline learns its cells) the rooms'
counters restart and the rest of the run is measured.

Closed form. With the viewers' z, patience and price sensitivity as drawn, every
impression's entry probability, expected dwell and order probability follow from
:mod:`simulation.behaviour` exactly (dwell is exponential, so a purchase within it has
probability h mu / (1 + h mu)). A calibrated baseline predicts in each z cell the pooled
rate of all rooms' impressions there; a room's uplift tends to its expected observed count
over its expected baseline count (with the estimator's pseudo-counts), the old per-room
rate to its expected rate over the platform average. Checked per channel (entry, dwell per
entry, conversion per entry): the new estimator's ratio rich/poor against its closed form
(t-interval over runs), and the old estimator's ratio against its own. Reported beside them:
the rooms' relative trait on a common audience (all viewers), and each estimator's bias
from it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from simulation.behaviour import Impressions
from simulation.config import Scenario
from simulation.estimates import Z_BINS, Estimator, UpliftEstimator, z_bins
from simulation.model import SnowballModel

AUDIENCE_SHARE = 0.25
"""Share of viewers (by relative interest) in the rich and in the poor room's audience."""
BURN_IN_TICKS = 2
"""Ticks the baseline learns before the rooms' counters restart."""
CHANNELS = ("entry", "dwell", "cvr")
GROUPS = ("rich", "poor", "peers")


def check(sc: Scenario, require: Callable[..., None]) -> None:
    """Refuse a scenario outside the special case (``require(sc, ok, key, value, allowed)``
    raises a one-line configuration error)."""
    b, pc, feed = sc.behaviour, sc.population, sc.feed
    rules = [
        (sc.platform.audience_estimates, "platform.audience_estimates", False, "must be true"),
        (feed.room_memory_days == 0, "feed.room_memory_days", feed.room_memory_days,
         "must be 0 (no long-run prior)"),
        (feed.estimator_half_life_minutes >= 1e6, "feed.estimator_half_life_minutes",
         feed.estimator_half_life_minutes, "must be >= 1e6 (counts over the run)"),
        (pc.need_rate == 0, "population.need_rate", pc.need_rate, "must be 0 (no needs)"),
        (pc.need_word_of_mouth == 0, "population.need_word_of_mouth", pc.need_word_of_mouth,
         "must be 0 (no needs)"),
        (pc.activity_sigma == 0, "population.activity_sigma", pc.activity_sigma,
         "must be 0 (one activity level)"),
        (b.satiation_days <= 1e-3, "behaviour.satiation_days", b.satiation_days,
         "must be <= 1e-3 (no satiation)"),
        (sorted(sc.streams) == sorted(GROUPS), "streams", sorted(sc.streams),
         f"needs exactly the groups {', '.join(GROUPS)}"),
    ]  # fmt: skip
    for key in ("follow_per_minute", "follow_after_buy", "store_follow_after_buy"):
        rules.append((getattr(b, key) == 0, f"behaviour.{key}", getattr(b, key), "must be 0"))
    for ok, key, value, allowed in rules:
        require(sc, ok, key, value, allowed)
    for name, g in sc.streams.items():
        require(sc, g.category == 0, f"streams.{name}.category", g.category, "must be 0")
        require(sc, g.initial_followers == 0, f"streams.{name}.initial_followers",
                g.initial_followers, "must be 0")  # fmt: skip
        require(sc, g.campaign is None or g.campaign.strategy == "none",
                f"streams.{name}.campaign", "set", "this case has no ads")  # fmt: skip
        require(sc, g.count == 1 or name == "peers", f"streams.{name}.count", g.count,
                "must be 1")  # fmt: skip
        for key in ("hook", "retention", "persuasion", "price"):
            lo, hi = getattr(g, key)
            require(sc, lo == hi, f"streams.{name}.{key}", [lo, hi], "must be one number")


def audiences(model: SnowballModel) -> dict[str, np.ndarray]:
    """Each group's audience: viewer indices (sorted), from the viewers' relative interest."""
    z = model.population.interests[:, 0] * model.population.k
    order = np.argsort(z, kind="stable")
    m = max(1, round(AUDIENCE_SHARE * len(z)))
    return {
        "rich": np.sort(order[-m:]),
        "poor": np.sort(order[:m]),
        "peers": np.arange(len(z)),
    }


def expected_per_viewer(model: SnowballModel, stream: int) -> dict[str, np.ndarray]:
    """Per viewer (N,), for one impression of ``stream``: entry probability, expected dwell
    minutes (entry x mean dwell) and order probability, from the behaviour's formulas with
    no affinity, boost, need or satiation."""
    sc, t, pop = model.config, model.table, model.population
    b = sc.behaviour
    z = np.maximum(pop.interests[:, 0].astype(np.float64) * pop.k, 1e-3)
    patience = pop.patience.astype(np.float64)
    sens = pop.price_sensitivity.astype(np.float64)
    hook = min(max(float(t.hook[stream]), 1e-6), 1 - 1e-6)
    base_logit = np.log(hook / (1 - hook)) + b.entry_interest_weight * np.log(z)
    entry = np.zeros(len(z))
    dwell = np.zeros(len(z))
    orders = np.zeros(len(z))
    prices = model.behaviour.prices[stream]
    for k in range(3):
        w = float(t.mix[stream, k])
        if w == 0:
            continue
        q = w / (1 + np.exp(-(base_logit + b.role_entry_lift[k])))
        mu = b.dwell_mean_minutes * float(t.retention[stream]) * patience * b.role_dwell_lift[k]
        price_term = np.minimum(4.0, (prices[k] / b.reference_price) ** (-sens))
        h = (
            b.buy_hazard_per_minute
            * (float(t.persuasion[stream]) / 0.05)
            * b.role_appeal[k]
            * price_term
            * z**b.buy_interest_weight
        )
        entry += q
        dwell += q * mu
        orders += q * h * mu / (1 + h * mu)
    return {"entry": entry, "dwell": dwell, "orders": orders}


def closed_form(
    model: SnowballModel, members: dict[str, np.ndarray], size: dict[str, int]
) -> dict[str, dict[str, float]]:
    """Expected limits of the new (uplift) and old (per-room) estimators' ratios rich/poor
    per channel, and the rooms' relative trait on a common audience (all viewers).

    ``size``: impressions per tick of each group's rooms. The baseline a tick is predicted
    with is the expected state of its decayed, shrunk cell counts after the ticks before it
    (every tick adds the same expected counts), and the rooms' counts are those of the
    measured ticks; so the closed form includes the baseline's and the rooms' pseudo-counts.
    ``own``: the rooms' relative trait on their own audiences (each against the peers on
    the same viewers), which the uplift targets; it differs from ``trait`` where the rooms'
    responses to interest are not proportional (the entry logistic, the purchase within a
    dwell). Returns {"new": {channel: ratio}, "old": ..., "trait": ..., "own": ...}.
    """
    sc, pop, t = model.config, model.population, model.table
    z = pop.interests[:, 0] * np.float32(pop.k)  # as the platform bins it (float32)
    cell = z_bins(z)
    streams = {g: np.flatnonzero(t.group == t.group_names.index(g)) for g in GROUPS}
    per = {int(s): expected_per_viewer(model, int(s)) for ss in streams.values() for s in ss}
    # Expected counts per tick in each cell, over all rooms.
    keys = ("entry", "dwell", "orders")
    tick = {q: np.zeros(Z_BINS) for q in keys}
    imps = np.zeros(Z_BINS)
    for g, ss in streams.items():
        a, w = members[g], size[g] / len(members[g])
        for s in ss:
            for q in keys:
                tick[q] += w * np.bincount(cell[a], per[int(s)][q][a], minlength=Z_BINS)
            imps += w * np.bincount(cell[a], minlength=Z_BINS)
    p_e = tick["entry"].sum() / imps.sum()
    p_d = tick["dwell"].sum() / tick["entry"].sum()
    p_c = tick["orders"].sum() / tick["entry"].sum()
    m = sc.feed.prior_strength
    m_e = m * p_e
    decay = 0.5 ** (sc.tick_minutes / (sc.platform.baseline_half_life_days * 1440))
    measured = range(BURN_IN_TICKS, sc.n_ticks)
    new, old, trait, own = {}, {}, {}, {}
    for g in ("rich", "poor"):
        s, a = int(streams[g][0]), members[g]
        x = {q: per[s][q][a] for q in keys}
        c = cell[a]
        n = size[g] * len(measured)
        obs = {q: n * float(x[q].mean()) for q in keys}
        exp = dict.fromkeys(keys, 0.0)
        for k in measured:
            scale = (1 - decay**k) / (1 - decay)  # decayed ticks of data before tick k
            b_e = (scale * tick["entry"] + m * p_e) / (scale * imps + m)
            b_d = (scale * tick["dwell"] + m_e * p_d) / (scale * tick["entry"] + m_e)
            b_c = (scale * tick["orders"] + m_e * p_c) / (scale * tick["entry"] + m_e)
            exp["entry"] += size[g] * float(b_e[c].mean())
            exp["dwell"] += size[g] * float((x["entry"] * b_d[c]).mean())
            exp["orders"] += size[g] * float((x["entry"] * b_c[c]).mean())
        a_e, a_d, a_c = m * p_e, m_e * p_d, m_e * p_c
        new[g] = {
            "entry": (obs["entry"] + a_e) / (exp["entry"] + a_e),
            "dwell": (obs["dwell"] + a_d) / (exp["dwell"] + a_d),
            "cvr": (obs["orders"] + a_c) / (exp["orders"] + a_c),
        }
        old[g] = {
            "entry": (obs["entry"] + a_e) / (n + m),
            "dwell": (obs["dwell"] + a_d) / (obs["entry"] + m_e),
            "cvr": (obs["orders"] + a_c) / (obs["entry"] + m_e),
        }
        peer = {q: np.mean([per[int(j)][q][a] for j in streams["peers"]], axis=0) for q in keys}
        own[g] = {
            "entry": float(x["entry"].mean() / peer["entry"].mean()),
            "dwell": float(
                (x["dwell"].mean() / x["entry"].mean())
                / (peer["dwell"].mean() / peer["entry"].mean())
            ),
            "cvr": float(
                (x["orders"].mean() / x["entry"].mean())
                / (peer["orders"].mean() / peer["entry"].mean())
            ),
        }
        y = per[s]
        trait[g] = {
            "entry": float(y["entry"].mean()),
            "dwell": float(y["dwell"].mean() / y["entry"].mean()),
            "cvr": float(y["orders"].mean() / y["entry"].mean()),
        }
    return {
        name: {ch: float(d["rich"][ch] / d["poor"][ch]) for ch in CHANNELS}
        for name, d in (("new", new), ("old", old), ("trait", trait), ("own", own))
    }


def run_once(sc: Scenario, seed: int, per_tick: int) -> dict[str, Any]:
    """One run of the fixed exposure schedule. Returns the new and old estimators' ratios
    rich/poor per channel, the closed form, and the impressions measured per room."""
    model = SnowballModel(sc, seed)
    est = model.estimator
    assert isinstance(est, UpliftEstimator)
    pop, t = model.population, model.table
    members = audiences(model)
    rng = model.rngs["policy"]
    streams = np.arange(t.n)
    groups = [t.group_names[g] for g in t.group]
    size = np.array([min(per_tick, len(members[g])) for g in groups])
    n_ticks = sc.n_ticks
    for tick in range(n_ticks):
        if tick == BURN_IN_TICKS:
            for f in est.FIELDS:
                est.c[f][:] = 0
        day = tick // sc.ticks_per_day
        viewers = np.concatenate(
            [
                rng.choice(members[g], int(k), replace=False)
                for g, k in zip(groups, size, strict=True)
            ]
        )
        stream = np.repeat(streams, size)
        sessions = pop.snapshot(viewers)
        imp = Impressions.free(viewers, stream, np.arange(len(viewers)))
        # Each impression's need as the tick began (need only: no satiation levels here).
        need_before = pop.need.reshape(-1)[imp.viewer * pop.k + t.category[imp.stream]]
        out = model.behaviour.respond(
            imp, sessions, pop, day, 1.0, False, False, model.rngs["behaviour"]
        )
        entry_need = need_before[out.entered].view(np.int8)
        model.day = day
        model._account(imp, out, len(sessions), np.ones(t.n, bool), sessions, entry_need)
    up = est.uplift()
    old = Estimator.rates(est, est.c)
    rich = int(np.flatnonzero(t.group == t.group_names.index("rich"))[0])
    poor = int(np.flatnonzero(t.group == t.group_names.index("poor"))[0])
    new_ratio = {c: float(up[c][rich] / up[c][poor]) for c in CHANNELS}
    old_ratio = {c: float(old[c][rich] / old[c][poor]) for c in CHANNELS}
    return {
        "new": new_ratio,
        "old": old_ratio,
        "theory": closed_form(model, members, dict(zip(groups, size.tolist(), strict=False))),
        "impressions": float(est.c["impressions"][rich]),
    }


def run_case(sc: Scenario, seeds: list[int], per_tick: int) -> dict[str, Any]:
    """All runs of one scenario: per-run ratios (arrays over runs) and the closed forms
    (the mean over runs: the population, hence the closed form, differs by seed)."""
    runs = [run_once(sc, s, per_tick) for s in seeds]
    out: dict[str, Any] = {"impressions": runs[0]["impressions"], "runs": len(runs)}
    for est in ("new", "old"):
        out[est] = {c: np.array([r[est][c] for r in runs]) for c in CHANNELS}
    for name in ("new", "old", "trait", "own"):
        out[f"theory_{name}"] = {
            c: np.array([r["theory"][name][c] for r in runs]) for c in CHANNELS
        }
    return out
