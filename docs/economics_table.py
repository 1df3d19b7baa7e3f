"""The economics table: what a market produces beside published ranges.

Runs a scenario (``default``: version 2's market, whose economic values come from the sources
docs/MODEL.md 7.16 cites, 100,000 viewers, 209 rooms, 7 days; ``v1``: version 1's market;
``mixed``: version 2 with both entrances) with ``economics.profit_accounting`` and
``economics.returns`` switched on, over a few seeds, and prints a Markdown table of the
market's economics with the published practitioner ranges that docs/MODEL.md section 7.16
cites. Nothing is tuned: the table shows whatever the scenario gives.

    python docs/economics_table.py                 # default, 3 seeds, 7 days, default size
    python docs/economics_table.py --scenario v1 --set population.viewers=30000
    python docs/economics_table.py --seeds 1 --days 2 --set population.viewers=20000

The fans' GPM multiple needs each order's buyer's follow status, which the day table does
not keep (issue 21 adds ``fan_gmv``): the script wraps the model's ``behaviour.respond`` to
sum the GMV bought by followers, reading the outcomes the model already drew.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

import numpy as np

from simulation.api import streams_table
from simulation.config import ConfigError, load_scenario
from simulation.model import SnowballModel

PUBLISHED = {
    "gross margin (GMV − cost of goods) ÷ GMV": "40–50 % apparel, 50–60 % beauty, 25–35 % "
    "electronics (e-commerce benchmarks) [growthsuite]; 30–60 % typical [wpdavies]",
    "gross margin after returns": "as above, less refunds net of restocking",
    "platform fees ÷ GMV": "2–5 % service fee; category rates 1–10 % [futa404]",
    "influencer commission ÷ GMV": "10–20 % of an influencer's sales [kr-asia]",
    "return handling ÷ GMV": "no published figure found",
    "contribution margin (before ads and hosts) ÷ GMV": "no published figure found",
    "break-even ROI (GMV ÷ contribution)": "≈ 3 with fee and commission [futa404]; "
    "6.6 in a worked example [xopon]",
    "paid ROI (paid GMV ÷ ad spend), rooms with ads": "≥ 3 needed to break even [futa404]; "
    "Qianchuan ROI > 2.5 as a target [coach]; no published distribution found",
    "profit ÷ GMV, all rooms": "no published figure found",
    "host cost ÷ GMV": "no published figure found",
    "rooms with positive profit over the run": "no published figure found",
    "ad spend ÷ GMV, platform": "no published figure found",
    "organic share of impressions (free + follow), all rooms": "63 % recommendation + 21 % "
    "fans + 16 % videos in one case study [ssopdot]",
    "organic share of impressions, rooms with ads": "30 % at cold start, 50 % growing, 70 % "
    "mature (> 50 % healthy) [coach]",
    "CPM paid, yuan per 1000 paid impressions": "4 yuan (feed) to 50–60 yuan (splash, "
    "reserved feed) [hb2b]",
    "live-room conversion (orders ÷ entries)": "1–3 % static e-commerce; 2–8 % live "
    "[tupic]; > 3 % as a target [coach]; claims of 20–60 % [quickmarketpitch]",
    "fans' GPM multiple (fan GPM ÷ non-fan GPM)": "no published figure found",
    "return rate (returns ÷ orders)": "20–30 % [Oliver Wyman]; 30–50 % live commerce "
    "[economymiddleeast]; women's wear 30–50 % [mbaonao], 50–60 % [wodezhubaowang]; "
    "3–5 % [buywith]",
    "drivers (引流款): share of GMV": "no published figure found",
    "profit items (利润款): share of GMV": "no published figure found",
    "welfare items (福利款): share of GMV": "no published figure found",
    "drivers (引流款): gross margin ÷ GMV": "below cost [kkannews]",
    "profit items (利润款): gross margin ÷ GMV": "25–60 % (category gross margins) "
    "[growthsuite; wpdavies]",
    "welfare items (福利款): gross margin ÷ GMV": "about cost [kkannews]",
}
ROLES = ("drivers (引流款)", "profit items (利润款)", "welfare items (福利款)")


class FanGmv:
    """Wraps a model's ``behaviour.respond`` to sum GMV and impressions by fans/non-fans, and
    GMV and gross margin by item role (driver, profit, welfare).

    An order's role is read from its price: each role's item has its own price in each room
    (``behaviour.role_price`` x the room's price), so the role whose price the order paid is the
    one sold. Orders whose price matches no role (none today) are left out of the role sums."""

    def __init__(self, model: SnowballModel):
        self.fan_gmv = self.other_gmv = 0.0
        self.fan_impressions = self.other_impressions = 0
        self.role_gmv = np.zeros(3)
        self.role_margin = np.zeros(3)
        behaviour = model.behaviour
        inner = behaviour.respond

        def respond(*args: Any, **kw: Any):
            out = inner(*args, **kw)
            fan = out.is_fan
            self.fan_gmv += float(out.price[fan].sum())
            self.other_gmv += float(out.price[~fan].sum())
            self.fan_impressions += int(fan.sum())
            self.other_impressions += int((~fan).sum())
            # Purchases in impression order, aligned with out.rating_stream.
            price, margin = out.price[out.bought], out.margin[out.bought]
            gap = np.abs(behaviour.prices[out.rating_stream] - price[:, None])
            role = gap.argmin(axis=1)
            ok = gap[np.arange(len(role)), role] <= 1e-9 * np.maximum(price, 1.0)
            self.role_gmv += np.bincount(role[ok], weights=price[ok], minlength=3)
            self.role_margin += np.bincount(role[ok], weights=margin[ok], minlength=3)
            return out

        behaviour.respond = respond

    def multiple(self) -> float:
        if self.fan_impressions == 0 or self.other_impressions == 0 or self.other_gmv == 0:
            return math.nan
        return (self.fan_gmv / self.fan_impressions) / (self.other_gmv / self.other_impressions)


def measure(
    seed: int, days: int, overrides: dict[str, Any], scenario: str = "default"
) -> dict[str, float]:
    """One run's row of the table: scenario ``scenario`` (a name or a TOML path) with both
    economics switches on and ``overrides`` applied."""
    sc = load_scenario(
        scenario,
        {
            **overrides,
            "days": days,
            "economics.profit_accounting": True,
            "economics.returns": True,
        },
    )
    model = SnowballModel(sc, seed)
    fans = FanGmv(model)
    model.run_days()
    st = streams_table(model)
    tot = st.sum(numeric_only=True)
    contribution = tot["profit"] + tot["ad_spend"] + tot["host_cost"] + tot["capacity_cost"]
    kept = tot["gmv"] - tot["refunds"]
    cogs = tot["cogs"]
    with_ads = st[st["budget"] > 0]
    per_room = st.groupby("stream")["profit"].sum()
    ads = with_ads.sum(numeric_only=True)

    def organic(t):
        return (t["free_impressions"] + t["follow_impressions"]) / t["impressions"]

    return {
        "gross margin (GMV − cost of goods) ÷ GMV": tot["margin"] / tot["gmv"],
        "gross margin after returns": (kept - cogs) / kept,
        "platform fees ÷ GMV": tot["platform_fees"] / tot["gmv"],
        "influencer commission ÷ GMV": tot["commission"] / tot["gmv"],
        "return handling ÷ GMV": tot["return_handling"] / tot["gmv"],
        "contribution margin (before ads and hosts) ÷ GMV": contribution / tot["gmv"],
        "break-even ROI (GMV ÷ contribution)": tot["gmv"] / contribution
        if contribution > 0
        else math.nan,
        "paid ROI (paid GMV ÷ ad spend), rooms with ads": ads["paid_gmv"] / ads["ad_spend"],
        "profit ÷ GMV, all rooms": tot["profit"] / tot["gmv"],
        "host cost ÷ GMV": tot["host_cost"] / tot["gmv"],
        "rooms with positive profit over the run": float((per_room > 0).mean()),
        "ad spend ÷ GMV, platform": tot["ad_spend"] / tot["gmv"],
        "organic share of impressions (free + follow), all rooms": organic(tot),
        "organic share of impressions, rooms with ads": organic(ads),
        "CPM paid, yuan per 1000 paid impressions": 1000
        * ads["ad_spend"]
        / ads["paid_impressions"],
        "live-room conversion (orders ÷ entries)": tot["orders"] / tot["entries"],
        "fans' GPM multiple (fan GPM ÷ non-fan GPM)": fans.multiple(),
        "return rate (returns ÷ orders)": tot["returns"] / tot["orders"],
        **{
            f"{role}: share of GMV": float(fans.role_gmv[i] / fans.role_gmv.sum())
            for i, role in enumerate(ROLES)
        },
        **{
            f"{role}: gross margin ÷ GMV": float(fans.role_margin[i] / fans.role_gmv[i])
            if fans.role_gmv[i] > 0
            else math.nan
            for i, role in enumerate(ROLES)
        },
    }


def _fmt(name: str, x: float) -> str:
    if math.isnan(x):
        return "n/a"
    if "ROI" in name or "multiple" in name or "CPM" in name:
        return f"{x:.2f}"
    return f"{100 * x:.1f} %"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenario", default="default", help="scenario name or TOML file")
    p.add_argument("--seeds", type=int, default=3, help="runs (seeds 1..N)")
    p.add_argument("--days", type=int, default=7)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    a = p.parse_args(argv)
    import tomllib

    overrides = {}
    for kv in a.set:
        k, _, v = kv.partition("=")
        overrides[k] = tomllib.loads(f"x = {v}")["x"]
    try:
        viewers = load_scenario(a.scenario, overrides).population.viewers
    except ConfigError as e:
        print(e, file=sys.stderr)
        return 2
    rows = [measure(seed, a.days, overrides, a.scenario) for seed in range(1, a.seeds + 1)]
    print(
        f"Scenario {a.scenario}, economics switches on, {viewers:,} viewers, {a.days} days, "
        f"seeds 1..{a.seeds}: mean (min–max over seeds)\n"
    )
    print("| quantity | model | published |")
    print("|---|---|---|")
    for name in rows[0]:
        xs = np.array([r[name] for r in rows], dtype=float)
        spread = f" ({_fmt(name, xs.min())}–{_fmt(name, xs.max())})" if len(xs) > 1 else ""
        print(f"| {name} | {_fmt(name, float(xs.mean()))}{spread} | {PUBLISHED[name]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
