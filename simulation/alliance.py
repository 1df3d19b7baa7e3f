"""Alliance: influencer rooms that sell a merchant's products, the match between the product
and the influencer's audience, and the merchant's traffic x conversion diagnosis (issue 22).

An *alliance room* is a room of kind ``alliance`` (or ``top_kol``) whose group names a
``merchant``: it sells that merchant's products, and the merchant pays it a commission on
settled orders (``economics.commission_rate``, simulation/economics.py). Its product is of a
category, by default the merchant room's, or the group's ``product_category``.

``alliance.product_match`` (off by default: version 1)
    A purchase in a room reads the viewer's interest, need and satiation in the category of
    the *product* the room sells, not in the room's content category. Who enters is still
    decided by the content (the feed brings the influencer's audience); whether they buy is
    decided by how well the product fits that audience. For every room that sells its own
    goods the product category is the room's category, so nothing changes there. The array
    :attr:`Alliance.product_category` is what :class:`simulation.behaviour.Behaviour` reads
    (``Behaviour.product_category``); re-matching changes it in place.

Operator ``alliance_diagnosis`` (simulation/operators.py: :class:`AllianceDiagnosis`)
    Run by a merchant's field room for the alliance rooms that sell its products. Each day,
    after the ad strategies and room operators, :meth:`Alliance.end_day` shows it each of
    those rooms' day (:class:`AllianceRoomDay`) and applies its decisions: a re-matched
    product (from the next tick on), and the yuan it funds the room's paid traffic with
    tomorrow. The funding is the budget of a campaign on the alliance room: the room's own
    campaign if its group has one (the funding is added to the budget its strategy set),
    else a campaign this module adds at build time (strategy ``fixed`` at 0 yuan, interest
    targeting; it spends only what the merchant funds). Its spend is the room's ``ad_spend``
    and so is charged to the row's profit, which is the merchant's (economics: "a row's
    profit is the profit of whoever owns the goods the room sold").

Day-table columns while the module is active (float64): ``product_category`` (the product
category the room sold that day), ``alliance_funding`` (yuan of paid traffic the merchant
funded for the room that day) and ``alliance_rematch`` (1 when the merchant re-matched the
room's product at the end of that day). docs/MODEL.md 7.20 describes the mechanism and what
it measured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from simulation.config import STREAM_KINDS, CampaignConfig, Scenario
from simulation.operators import AllianceDiagnosis, AllianceRoomDay

if TYPE_CHECKING:  # typing only: the model imports this module
    from simulation.model import SnowballModel
    from simulation.streams import Stream, StreamTable

ALLIANCE_FIELDS = ("product_category", "alliance_funding", "alliance_rematch")
"""Day-table columns the module adds (float64)."""

FUNDING_CAMPAIGN = CampaignConfig(strategy="fixed", daily_budget=0.0, targeting="interest")
"""The campaign added to a diagnosed alliance room without one of its own: it spends only
what the merchant funds (added to the budget its ``fixed`` strategy sets, 0)."""


def active(scenario: Scenario) -> bool:
    """Whether a scenario uses the module: ``alliance.product_match`` or some group's
    ``alliance_diagnosis`` operator."""
    return scenario.alliance.product_match or any(
        g.count > 0 and g.operator == AllianceDiagnosis.name for g in scenario.streams.values()
    )


def sells_for_merchant(table: StreamTable) -> np.ndarray:
    """Rooms that sell another room's (a merchant's) products, (S,) bool."""
    own = np.arange(table.n)
    field = STREAM_KINDS.index("field")
    return (table.kind != field) & (table.merchant_room >= 0) & (table.merchant_room != own)


def product_categories(table: StreamTable) -> np.ndarray:
    """Each room's product category, (S,) int64: the group's ``product_category`` or the
    merchant room's category for a room selling a merchant's products; the room's own
    category otherwise."""
    out = table.category.copy()
    sells = sells_for_merchant(table)
    for gi, g in enumerate(table.group_configs):
        rows = np.flatnonzero((table.group == gi) & sells)
        if len(rows):
            merchant = table.category[table.merchant_room[rows]]
            out[rows] = g.product_category if g.product_category >= 0 else merchant
    return out


class Alliance:
    """The alliance rooms' products and the merchants' diagnoses.

    Parameters
    ----------
    table
        The stream table (kinds, merchant rooms, categories).
    streams
        The stream agents (the merchants' operators).
    """

    def __init__(self, table: StreamTable, streams: list[Stream]):
        self.n = table.n
        self.table = table
        self.product_category = product_categories(table)
        """The category of the product each room sells, (S,) int64 (changed in place by a
        re-match; ``Behaviour.product_category`` is this array)."""
        sells = sells_for_merchant(table)
        self.diagnosing: dict[int, AllianceDiagnosis] = {
            a.index: a.operator for a in streams if isinstance(a.operator, AllianceDiagnosis)
        }
        """Merchant room -> its ``alliance_diagnosis`` operator."""
        self.rooms: dict[int, np.ndarray] = {
            m: np.flatnonzero(sells & (table.merchant_room == m)) for m in self.diagnosing
        }
        """Merchant room -> the alliance rooms selling its products."""
        self.funded = np.concatenate([np.zeros(0, np.int64), *self.rooms.values()])
        self.funding_today = np.zeros(self.n)
        """Yuan of paid traffic the merchants fund each room with today."""
        self.funding_next = np.zeros(self.n)
        self.campaign_of: dict[int, int] = {}
        """Diagnosed alliance room -> index of the campaign that carries its funding."""

    def funding_campaigns(self, existing: list[tuple[int, CampaignConfig]]) -> list:
        """Campaigns to add for diagnosed alliance rooms without one of their own
        (:data:`FUNDING_CAMPAIGN`), as (stream, config) pairs to append to ``existing``."""
        have = {s for s, _ in existing}
        return [(int(s), FUNDING_CAMPAIGN) for s in self.funded if int(s) not in have]

    def bind(self, campaign_streams: np.ndarray) -> None:
        """Remember which campaign carries each diagnosed room's funding (its first)."""
        for j in range(len(campaign_streams) - 1, -1, -1):
            self.campaign_of[int(campaign_streams[j])] = j

    def audience_interest(self, model: SnowballModel, room: int) -> tuple[float, ...]:
        """The room's followers' mean relative interest per category (1 = average); empty
        without followers. O(viewers x follow slots) per room: once a day per diagnosed
        live room."""
        pop = model.population
        fans = np.flatnonzero((pop.follow == room).any(axis=1))
        if len(fans) == 0:
            return ()
        mean = pop.interests[fans].astype(np.float64).mean(axis=0) * pop.k
        return tuple(float(x) for x in mean)

    def end_day(self, model: SnowballModel, rec: dict[str, np.ndarray]) -> None:
        """After the strategies and operators: each diagnosing merchant decides for its
        alliance rooms; re-matched products take effect from the next tick, funding is added
        to tomorrow's budget of the room's campaign. Adds :data:`ALLIANCE_FIELDS` to the day's
        record ``rec``."""
        t = self.table
        rec["product_category"] = self.product_category.astype(np.float64)
        rec["alliance_funding"] = self.funding_today.copy()
        rematch = np.zeros(self.n)
        live = rec["live"].astype(bool)
        organic = rec["free_impressions"] + rec["follow_impressions"]
        peer = float(organic[live].mean()) if live.any() else 0.0
        self.funding_next = np.zeros(self.n)
        for m, op in self.diagnosing.items():
            days = [
                AllianceRoomDay(
                    room=int(s),
                    day=int(rec["day"][s]),
                    live=bool(live[s]),
                    free_impressions=int(rec["free_impressions"][s]),
                    paid_impressions=int(rec["paid_impressions"][s]),
                    follow_impressions=int(rec["follow_impressions"][s]),
                    entries=int(rec["entries"][s]),
                    orders=int(rec["orders"][s]),
                    product_category=int(self.product_category[s]),
                    content_category=int(t.category[s]),
                    merchant_category=int(t.category[m]),
                    peer_organic_impressions=peer,
                    audience_interest=self.audience_interest(model, int(s)) if live[s] else (),
                )
                for s in self.rooms[m]
            ]
            for d in op.diagnose(days):
                self.product_category[d.room] = d.product_category
                rematch[d.room] = float(d.rematched)
                self.funding_next[d.room] = d.funding
        rec["alliance_rematch"] = rematch
        c = model.campaigns
        for s, j in self.campaign_of.items():
            if self.funding_next[s] > 0:
                c.budget[j] += self.funding_next[s]

    def start_day(self) -> None:
        """Tomorrow's funding becomes today's."""
        self.funding_today = self.funding_next
        self.funding_next = np.zeros(self.n)
