"""Scenario configuration: TOML in, validated frozen dataclasses out.

Every value a scenario can set is a field of one of the dataclasses below, with its default,
its allowed range and a one-line meaning in the field's metadata. ``load_scenario`` reads a
TOML file, applies ``--set key=value`` overrides and builds a :class:`Scenario`; anything
wrong raises :class:`ConfigError` naming the file, the key, the value and what is allowed.

Numbers that scale with the size of the platform are expressed relative to it (shares of
viewers, multiples of a fair share of slots) so that a scenario behaves comparably from 10^4
to 10^6 viewers; docs/MODEL.md lists which.
"""

import dataclasses
import difflib
import math
import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulation import files
from simulation.paths import package_data

SCHEMA_VERSION = 1

STREAM_KINDS = ("field", "alliance", "top_kol")
KOL_SESSIONS = ("v1", "mixed", "dedicated")
ROLES = ("driver", "profit", "welfare")
TARGETING = ("broad", "interest", "lookalike")
BIDDING = ("max_delivery", "cost_cap")
SCHEDULE_PATTERNS = ("fixed", "random")
URN_EVENTS = ("orders", "entries", "impressions")
EXPLORATION_SCOPES = ("category", "platform")


class ConfigError(ValueError):
    """A scenario value that is missing, unknown, of the wrong type or out of range.

    ``str(error)`` is the one line a user sees: source, key, value and what is allowed.
    """

    def __init__(self, source: str, key: str, value: Any, allowed: str):
        self.source, self.key, self.value, self.allowed = source, key, value, allowed
        shown = "(missing)" if value is MISSING else repr(value)
        if key.startswith("("):  # the file itself, not a key in it
            super().__init__(f"{source}: {allowed}")
        else:
            super().__init__(f"{source}: {key} = {shown}: {allowed}")


MISSING = object()
"""The value of a key that was not given (shown as ``(missing)`` in a :class:`ConfigError`)."""


def setting(
    default: Any,
    doc: str,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    choices: tuple[str, ...] | None = None,
    length: int | None = None,
) -> Any:
    """A dataclass field carrying its validation rule and meaning."""
    meta = {
        "doc": doc,
        "lo": lo,
        "hi": hi,
        "lo_open": lo_open,
        "choices": choices,
        "length": length,
    }
    if isinstance(default, (list, dict)):
        raise TypeError("use tuples for sequence defaults")
    return field(default=default, metadata=meta)


# --------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PopulationConfig:
    """The viewers: how many, what they like, when and how much they use the app."""

    viewers: int = setting(100_000, "number of viewers", 1)
    categories: int = setting(12, "number of product/content categories K", 1, 64)
    interest_concentration: float = setting(
        0.35, "Dirichlet concentration of each viewer's interests (small = focused)", 0.01, 100
    )
    sessions_per_day: float = setting(4.0, "mean app sessions per viewer per day", 0, 200)
    activity_sigma: float = setting(0.8, "log-normal spread of viewers' activity", 0, 3)
    slots_per_session: int = setting(8, "feed slots a session fills (swipes)", 1, 64)
    patience_sigma: float = setting(0.5, "log-normal spread of patience (dwell multiplier)", 0, 3)
    price_sensitivity_mean: float = setting(
        1.0, "mean price sensitivity s: buy hazard x (price / reference)^-s, at most x4", 0, 10
    )
    price_sensitivity_sigma: float = setting(0.4, "log-normal spread of price sensitivity", 0, 3)
    follow_slots: int = setting(8, "length of each viewer's bounded follow list", 1, 64)
    need_rate: float = setting(
        0.03, "needs arising per viewer per category per day at average interest", 0, 10
    )
    need_word_of_mouth: float = setting(
        0.0,
        "extra need rate per day per unit share of the population that bought in the "
        "category (Bass imitation q)",
        0,
        100,
    )
    need_lifetime_days: float = setting(
        5.0, "mean days a need lasts unless satisfied", 0, lo_open=True
    )
    repeat_needs: bool = setting(True, "needs recur after a purchase (false: one adoption only)")


@dataclass(frozen=True)
class BehaviourConfig:
    """How a viewer responds to an impression: enter, dwell, interact, buy, follow, rate."""

    entry_interest_weight: float = setting(
        0.8, "logit weight of log relative interest in the stream's category", 0, 10
    )
    entry_affinity_weight: float = setting(2.5, "logit weight of stored affinity on entry", 0, 20)
    entry_reserved_lift: float = setting(
        1.0, "logit lift of entry for a warm-up reservation", 0, 10
    )
    dwell_mean_minutes: float = setting(
        1.5, "mean dwell of an average viewer in an average room", 0, lo_open=True
    )
    dwell_affinity_lift: float = setting(
        1.0, "dwell multiplier per unit affinity (1 + x*aff)", 0, 20
    )
    buy_hazard_per_minute: float = setting(
        0.008,
        "buy hazard per minute of dwell at persuasion 0.05, average everything",
        0,
        lo_open=True,
    )
    buy_affinity_weight: float = setting(3.0, "buy hazard multiplier per unit affinity", 0, 50)
    buy_interest_weight: float = setting(0.5, "exponent of relative interest in buy hazard", 0, 5)
    need_multiplier: float = setting(
        3.0, "buy hazard multiplier when the viewer has a need in the category", 1, 100
    )
    reference_price: float = setting(
        100.0,
        "price (yuan) at which the price term (price/ref)^-sensitivity is 1",
        0,
        lo_open=True,
    )
    satiation_days: float = setting(
        10.0,
        "e-folding days after a purchase before the viewer buys in that category "
        "again at full rate",
        0,
    )
    interact_per_minute: float = setting(0.3, "likes/comments per minute of dwell", 0)
    follow_per_minute: float = setting(0.01, "follow hazard per minute of dwell", 0, 1)
    follow_after_buy: float = setting(0.25, "probability a buyer follows the room", 0, 1)
    store_follow_after_buy: float = setting(
        0.15, "probability a buyer in someone else's room follows the merchant's own room", 0, 1
    )
    affinity_initial: float = setting(0.2, "affinity of a new follow", 0, 1)
    affinity_gain_entry: float = setting(0.05, "affinity gained per entry (towards 1)", 0, 1)
    affinity_gain_rating: float = setting(
        0.4, "affinity change per rating point above/below 0.5 when a buyer rates", 0, 1
    )
    affinity_decay_per_day: float = setting(0.03, "share of affinity lost each day", 0, 1)
    unfollow_below: float = setting(
        0.03, "a follow whose affinity drops below this is dropped", 0, 1
    )
    review_lag_days: int = setting(
        3, "days between a purchase and its rating (ratings apply at the start of a day)", 1, 60
    )
    rating_noise: float = setting(0.15, "sd of a rating around the item's true quality", 0, 1)
    review_prior_ratings: float = setting(
        20.0, "pseudo-ratings behind a new room's review score", 0, lo_open=True
    )
    review_prior: float = setting(4.5, "review score (1-5 stars) a new room starts with", 1, 5)
    review_memory_days: float = setting(
        30.0, "e-folding memory of the review score in days", 0, lo_open=True
    )
    role_price: tuple[float, ...] = setting(
        (0.6, 1.6, 0.25),
        "item price per role (driver, profit, welfare) as a multiple of the room's price",
        0,
        length=3,
        lo_open=True,
    )
    role_cost: tuple[float, ...] = setting(
        (0.55, 0.25, 1.0),
        "unit cost per role at quality 0, as a share of the item price",
        0,
        length=3,
    )
    quality_cost: float = setting(0.35, "extra unit cost per unit of quality, share of price", 0, 5)
    role_appeal: tuple[float, ...] = setting(
        (1.6, 0.6, 2.4), "buy hazard multiplier per role", 0, length=3
    )
    role_entry_lift: tuple[float, ...] = setting(
        (0.3, -0.2, 0.6), "entry logit lift per role", -5, 5, length=3
    )
    role_dwell_lift: tuple[float, ...] = setting(
        (1.15, 0.9, 1.4), "dwell multiplier per role", 0, length=3, lo_open=True
    )
    # --- run-of-show (issue 22, docs/MODEL.md 7.18) -----------------------------------------
    run_of_show: bool = setting(
        False,
        "a room's time on air is a cyclic script of items (driver, profit, welfare, each on "
        "air for its mix share of show_cycle_minutes); false: each impression's item is drawn "
        "from the mix",
    )
    show_cycle_minutes: float = setting(
        60.0,
        "run_of_show: minutes of one pass through the script (an item's explanation time is "
        "its mix share of this)",
        0,
        lo_open=True,
    )


@dataclass(frozen=True)
class FeedConfig:
    """The interest feed: estimates, ranking, tiered traffic pools, follow channel, ads."""

    estimator_half_life_minutes: float = setting(
        60.0, "half-life of the platform's window counters", 0, lo_open=True
    )
    prior_strength: float = setting(
        200.0, "pseudo-impressions behind a stream's prior estimate", 0, lo_open=True
    )
    room_memory_days: float = setting(
        7.0,
        "half-life of a room's long-run record (its account weight), which is the prior "
        "of its window estimates; 0 = no memory (the prior is the platform average)",
        0,
    )
    value_engagement_weight: float = setting(
        1.0, "weight of engagement (entry x dwell, relative to peers) in predicted value", 0
    )
    value_gmv_weight: float = setting(
        1.0, "weight of GPM (relative to peers) in predicted value", 0
    )
    value_exponent: float = setting(1.5, "sharpness of allocation in predicted value", 0, 10)
    review_weight: float = setting(0.8, "ranking factor exp(w * (review - 4.5))", 0, 10)
    interest_sharpness: float = setting(
        1.0, "exponent on interests when choosing a slot's category (0 = ignore interests)", 0, 10
    )
    exploration: float = setting(
        0.05, "share of free slots given to a uniformly random live stream (see scope)", 0, 1
    )
    exploration_scope: str = setting(
        "category",
        "where an exploration slot looks: a live stream of the slot's category "
        "(any live stream when none is live) or any live stream on the platform",
        choices=EXPLORATION_SCOPES,
    )
    tier_caps: tuple[float, ...] = setting(
        (0.5, 1.0, 2.0, 4.0, 8.0),
        "cap of each traffic-pool tier as a multiple of the fair "
        "share of free slots per live stream in the category",
        0,
        lo_open=True,
    )
    promote_percentile: float = setting(
        0.7, "window value above this peer percentile promotes", 0, 1
    )
    demote_percentile: float = setting(0.3, "window value below this peer percentile demotes", 0, 1)
    rerank_minutes: int = setting(30, "length of a horse-race window", 1, 1440)
    min_window_impressions: float = setting(
        0.25,
        "impressions a stream needs in a window to be judged, as a multiple of the "
        "fair share per live stream per window",
        0,
    )
    tier_decay_per_day_off: int = setting(
        1, "tiers lost per calendar day without airtime before a stream", 0, 10
    )
    start_tier_drop: int = setting(1, "tiers lost between one day's stream and the next", 0, 10)
    audience_precision_half: float = setting(
        0.001,
        "followers, as a share of viewers, at which a stream's audience model is "
        "half precise (look-alike and interest routing)",
        0,
        lo_open=True,
    )
    follow_check_prob: float = setting(0.35, "probability a session opens the follow channel", 0, 1)
    follow_slots_max: int = setting(2, "followed live rooms a session shows at most", 0, 16)
    ad_load: float = setting(0.15, "share of feed slots that are ad slots", 0, 1)


@dataclass(frozen=True)
class PlatformConfig:
    """Version 2's platform mechanisms (issue 21). Every mechanism has its own switch, and
    with every switch off (the field defaults) the model is version 1's: the regression
    digests are unchanged."""

    # --- audience-aware estimates: baseline x room uplift (simulation/estimates.py) ---------
    audience_estimates: bool = setting(
        False, "judge rooms by their uplift over a platform-wide baseline (false: per-room rates)"
    )
    baseline_half_life_days: float = setting(
        1.0,
        "half-life in days of the platform-wide baseline's counts (audience_estimates)",
        0,
        lo_open=True,
    )
    interaction_weight: float = setting(
        0.0,
        "weight of interactions (likes, comments, shares per impression, relative to peers "
        "or to the baseline) in predicted value; 0 = not read",
        0,
    )

    # --- interest dynamics and created demand (simulation/population.py) --------------------
    interest_drift: bool = setting(
        False, "exposure and engagement move viewers' interests, which decay back to baseline"
    )
    drift_per_impression: float = setting(
        0.001,
        "interest_drift: weight w an impression of category c adds: x <- (x + w e_c)/(1 + w)",
        0,
        1,
    )
    drift_per_dwell_minute: float = setting(
        0.01, "interest_drift: extra weight per minute an entrant dwells in the room", 0, 1
    )
    drift_decay_per_day: float = setting(
        0.1, "interest_drift: share of the distance to the viewer's baseline closed each day", 0, 1
    )
    created_interest_margin: float = setting(
        0.25,
        "an order counts as created demand when the buyer's interest in the category is at "
        "least (1 + margin) x their baseline interest (interest_drift)",
        0,
    )
    latent_needs: bool = setting(
        False, "an entry without a purchase can leave a latent need for the room's category"
    )
    latent_need_prob: float = setting(
        0.05, "latent_needs: probability an entry without a purchase leaves a latent need", 0, 1
    )
    latent_need_lifetime_days: float = setting(
        3.0, "latent_needs: mean days a latent need lasts (geometric)", 0, lo_open=True
    )
    latent_need_strength: float = setting(
        0.5,
        "latent_needs: buy-hazard multiplier 1 + strength x (need_multiplier - 1) "
        "(0 = none, 1 = as strong as a need)",
        0,
        1,
    )
    latent_search_per_day: float = setting(
        0.1,
        "latent_needs: daily probability a surviving latent need becomes a full need "
        "(which the search funnel serves)",
        0,
        1,
    )

    # --- one platform, two entrances (policy "mixed") ---------------------------------------
    search_share: float = setting(
        0.3, "policy 'mixed': mean share of sessions that are search/mall sessions", 0, 1
    )
    search_propensity_concentration: float = setting(
        2.0,
        "policy 'mixed': concentration a + b of each viewer's Beta-distributed propensity "
        "to open a session at the search entrance (mean search_share; small = viewers are "
        "searchers or scrollers, large = every viewer near search_share)",
        0,
        lo_open=True,
    )

    # --- traffic pools that mean the same at every size -------------------------------------
    pool_quota: str = setting(
        "fair_share",
        "a tier's quota of its category's free slots: fair_share = tier_caps x slots / live "
        "rooms (version 1); size_invariant = slots x c / (c + live rooms - 1), the share of a "
        "room whose weight is c = tier_caps times its live peers' mean, at any market size",
        choices=("fair_share", "size_invariant"),
    )

    # --- warm-up videos as content (simulation/warmups.py, issue 22) ------------------------
    warmup_content: bool = setting(
        False,
        "warm-up videos reach viewers by interest, their engagement is measured and seeds the "
        "room's estimates at go-live, and engaged viewers book and follow (false: version 1's "
        "uniform reach and bookings)",
    )
    warmup_seeding: bool = setting(
        True,
        "warmup_content: the room's estimates start from its warm-up engagement at go-live "
        "(false: measured and counted, not read by the estimator)",
    )
    warmup_evidence_weight: float = setting(
        0.25,
        "warmup_content: live-impression equivalents one warm-up view adds to the room's "
        "entry estimate at go-live (at most 1: video evidence weighs less than live)",
        0,
        1,
    )
    warmup_book_prob: float = setting(
        0.3, "warmup_content: probability an engaged warm-up view books the go-live", 0, 1
    )
    warmup_follow_prob: float = setting(
        0.03, "warmup_content: probability an engaged warm-up view follows the room", 0, 1
    )


@dataclass(frozen=True)
class FunnelConfig:
    """The traditional search funnel: needs, search ranking, paid search ads."""

    results_per_page: int = setting(10, "listings a search shows", 1, 100)
    position_decay: float = setting(0.8, "examination probability at rank r is 1/(1+r)^x", 0, 10)
    ad_positions: int = setting(2, "top positions sold to paid search ads", 0, 20)
    sales_weight: float = setting(0.6, "exponent of (1 + recent daily sales) in ranking", 0, 5)
    review_weight: float = setting(0.8, "ranking factor exp(w * (review - 4.5))", 0, 10)
    sales_memory_days: float = setting(
        7.0, "e-folding memory of sales in the ranking", 0, lo_open=True
    )
    query_relevance_sd: float = setting(
        1.0,
        "spread (log scale) of a listing's relevance to one query: each search ranks its "
        "category's listings by sales x review x a lognormal relevance drawn per query "
        "(0 = every query of a category sees the same page)",
        0,
        10,
    )
    store_visit_prob: float = setting(
        0.5,
        "probability a viewer with a need visits a followed store of that category "
        "before searching",
        0,
        1,
    )
    reserve_cpc: float = setting(0.3, "reserve price per click of a search ad, yuan", 0)
    click_lift: float = setting(
        1.5, "entry (click) logit lift of a viewer searching with a need", 0, 10
    )


@dataclass(frozen=True)
class AuctionConfig:
    """The ad auction: eCPM ranking, generalised second price, pacing, learning phase."""

    reserve_cpm: float = setting(20.0, "reserve eCPM in yuan per 1000 impressions", 0)
    pacing_rate: float = setting(0.5, "step of the pacing dual multiplier per tick", 0, 10)
    learning_orders: int = setting(
        20, "paid orders a campaign needs to leave its learning phase", 0
    )
    learning_explore: float = setting(
        0.5,
        "a targeted campaign in its learning phase is also eligible for about this share of "
        "the tick's ad slots outside its audience",
        0,
        1,
    )
    max_delivery_value: float = setting(
        1.5,
        "max-delivery bid per order as a multiple of the room's average order value "
        "before pacing shades it",
        0,
        lo_open=True,
    )


@dataclass(frozen=True)
class UrnConfig:
    """The ``urn`` policy (validation, docs/VALIDATION.md): free slots go to a stream with
    probability proportional to its urn weight ``(prior + increment x past events)^exponent``.

    With ``exponent`` 1 and ``increment_on = "orders"`` this is the Pólya urn (long-run shares
    Dirichlet(prior / increment)); other exponents give the γ-urn; ``"entries"`` with streams
    of different hooks gives the fitness urn.
    """

    prior: float = setting(1.0, "initial urn weight a of every stream", 0, lo_open=True)
    increment: float = setting(
        1.0, "weight Δ added per counted event (Dirichlet α = prior / increment)", 0, lo_open=True
    )
    increment_on: str = setting(
        "orders", "event that adds weight: orders, entries or impressions", choices=URN_EVENTS
    )
    exponent: float = setting(1.0, "γ: allocation ∝ weight^γ (1 = Pólya urn)", 0, 10)
    worlds: int = setting(
        1,
        "independent parallel worlds: each group's streams are dealt to them in turn and each "
        "slot goes to one world chosen uniformly",
        1,
        4096,
    )


@dataclass(frozen=True)
class CascadeConfig:
    """The ``cascade`` policy (validation): cold start as a branching process. A stream gets
    ``seed_impressions`` when it first goes live; every entry it earns in a tick is rewarded
    with Poisson(``reward_per_entry``) free impressions in the next tick."""

    seed_impressions: int = setting(
        1, "n0: cold-start impressions a stream gets in its first live tick", 0
    )
    reward_per_entry: float = setting(
        1.0, "mean free impressions granted in the next tick per entry in this tick", 0, 1000
    )
    graduate_at: int = setting(
        100,
        "a stream whose cascade asks for at least this many impressions in one tick has "
        "taken off and leaves the cold-start pool",
        1,
    )


@dataclass(frozen=True)
class PrivateValuesConfig:
    """The ``private_values`` policy (validation): every slot is auctioned among the active
    campaigns, each of which values it at an independent U(0, ``value_max_cpm``) draw."""

    value_max_cpm: float = setting(
        100.0,
        "upper end of a campaign's U(0, v) value for one slot, yuan per 1000 impressions",
        0,
        lo_open=True,
    )
    slots_per_tick: int = setting(
        0,
        "ad slots auctioned per tick, drawn from the tick's sessions (a stationary market); "
        "0 = every slot of every session",
        0,
    )


EVENT_ENTRY = ("all_eligible", "operator")
"""Entry rules of a campaign event (simulation/events.py ``ENTRY_RULES``): which of the rooms
that pass its registration gates enter. Room operators may add their own later."""


@dataclass(frozen=True)
class EventConfig:
    """What every campaign event has (docs/MODEL.md 7.12): its days, its registration gates
    (each a platform rule with its own switch; a gate switched off admits every room) and
    its entry rule. The rooms that pass the gates and enter are the event's participants."""

    days: tuple[int, ...] = setting((), "day numbers (0-based) the event runs on", 0)
    review_gate: bool = setting(
        True, "registration gate: review score >= min_review (false: every room passes)"
    )
    min_review: float = setting(4.3, "review score the review gate asks for", 1, 5)
    sales_gate: bool = setting(
        False,
        "registration gate: GMV over the last sales_window_days >= min_sales x the mean "
        "room's (false: every room passes)",
    )
    min_sales: float = setting(
        0.5, "prior GMV the sales gate asks for, as a multiple of the mean room's", 0, 1000
    )
    sales_window_days: int = setting(7, "days of prior GMV the sales gate reads", 1, 3650)
    entry: str = setting(
        "all_eligible",
        "which eligible rooms enter: all_eligible = every room that passes the gates; "
        "operator = each room's operator decides (rooms without an acting operator enter)",
        choices=EVENT_ENTRY,
    )
    discount: float = setting(
        0.0,
        "price cut a participant gives on the event's days, share of list price (0 = none; "
        "order of magnitude: platform promotions ask for about 5-20 %)",
        0,
        0.95,
    )


@dataclass(frozen=True)
class SaleEventConfig(EventConfig):
    """A platform-wide sale (大促): every viewer visits more and buys more readily; the
    participants' ranking in the interest feed is boosted."""

    volume_lift: float = setting(
        0.5, "extra sessions and need arrivals on the sale's days (share; 0 = off)", 0, 20
    )
    intent_lift: float = setting(0.5, "extra buy hazard on the sale's days (share; 0 = off)", 0, 20)
    boost: float = setting(
        1.5, "interest-feed ranking multiplier of the participants (1 = off)", 1, 100
    )


@dataclass(frozen=True)
class MarketingIPConfig(EventConfig):
    """A marketing IP: a capped number of featured participants get platform resources (a
    share of free slots reserved for them, a ranking boost)."""

    featured_cap: int = setting(
        10, "most participants featured (the highest prior GMV first)", 1, 100_000
    )
    reserved_share: float = setting(
        0.02,
        "share of free interest-feed slots reserved for live featured rooms of the slot's "
        "category (0 = off)",
        0,
        1,
    )
    boost: float = setting(
        1.0, "interest-feed ranking multiplier of the featured rooms (1 = off)", 1, 100
    )


@dataclass(frozen=True)
class CategoryEventConfig(EventConfig):
    """A category event: one category's demand and buying rise, its participants' ranking
    is boosted."""

    category: int = setting(-1, "the event's category (required: 0..categories-1)", -1)
    volume_lift: float = setting(
        0.5, "extra need arrivals in the category on the event's days (share; 0 = off)", 0, 20
    )
    intent_lift: float = setting(
        0.5,
        "extra buy hazard in the category's rooms on the event's days (share; 0 = off)",
        0,
        20,
    )
    boost: float = setting(
        1.5, "interest-feed ranking multiplier of the participants (1 = off)", 1, 100
    )


@dataclass(frozen=True)
class CalendarConfig:
    """Platform promotions. ``campaign_days`` is version 1's platform-wide sale (volume and
    intent lifts, and a ranking boost for rooms with review score >= ``min_review``);
    ``sales``, ``marketing_ips`` and ``category_events`` are named campaign events with
    registration gates (docs/MODEL.md 7.12)."""

    campaign_days: tuple[int, ...] = setting((), "day numbers (0-based) that are campaign days", 0)
    volume_lift: float = setting(
        0.5, "extra sessions and need arrivals on a campaign day (share)", 0, 20
    )
    intent_lift: float = setting(0.5, "extra buy hazard on a campaign day (share)", 0, 20)
    min_review: float = setting(4.3, "review score a stream needs for the campaign-day boost", 1, 5)
    boost: float = setting(
        1.5,
        "interest-feed ranking multiplier on campaign days for streams with review score >= "
        "min_review",
        1,
        100,
    )
    sales: dict[str, SaleEventConfig] = field(
        default_factory=dict, metadata={"doc": "platform-wide sales, by name"}
    )
    marketing_ips: dict[str, MarketingIPConfig] = field(
        default_factory=dict, metadata={"doc": "marketing IPs, by name"}
    )
    category_events: dict[str, CategoryEventConfig] = field(
        default_factory=dict, metadata={"doc": "category events, by name"}
    )

    def events(self) -> list[tuple[str, str, "EventConfig"]]:
        """Every campaign event as (kind, name, config): sales, then marketing IPs, then
        category events, each in the order written."""
        return [
            *(("sale", k, v) for k, v in self.sales.items()),
            *(("marketing_ip", k, v) for k, v in self.marketing_ips.items()),
            *(("category", k, v) for k, v in self.category_events.items()),
        ]


@dataclass(frozen=True)
class EconomicsConfig:
    """Merchants' economics (issue 22): each room's profit per day, and returns.

    Both switches are off by default (version 1: no profit columns, no return draws). The
    rates' defaults come from published practitioner figures where they exist and are
    order-of-magnitude choices elsewhere (docs/MODEL.md, section 7.16, cites each)."""

    profit_accounting: bool = setting(
        False,
        "book each room's profit per day: GMV less refunds, cost of goods, platform fees, "
        "influencer commission, return handling, ad spend and operating costs",
    )
    returns: bool = setting(
        False,
        "buyers return orders, more often when the quality they experience falls short of "
        "what the room presented",
    )
    platform_fee_rate: float = setting(
        0.05, "platform technical service fee, share of GMV net of refunds", 0, 1
    )
    commission_rate: float = setting(
        0.20,
        "influencer commission, share of GMV net of refunds, that a merchant pays an alliance "
        "or top-KOL room selling its products",
        0,
        1,
    )
    host_cost_per_hour: float = setting(
        100.0,
        "operating cost (the host's pay) per live hour of a room selling its own goods, yuan",
        0,
    )
    return_base_rate: float = setting(
        0.15,
        "probability an order is returned when experienced quality meets what was presented",
        0,
        1,
    )
    return_quality_slope: float = setting(
        1.0,
        "extra return probability per unit of shortfall (presented minus experienced quality)",
        0,
        100,
    )
    presented_quality: float = setting(
        -1.0,
        "quality every room presents, in [0, 1]; -1 = each room presents its true quality",
        -1,
        1,
    )
    return_handling_cost: float = setting(
        10.0, "yuan per returned order (return shipping, inspection, customer service)", 0
    )
    restock_share: float = setting(
        0.8, "share of a returned item's cost of goods recovered by restocking it", 0, 1
    )


@dataclass(frozen=True)
class AllianceConfig:
    """Alliance influencers selling a merchant's products (issue 22, simulation/alliance.py,
    docs/MODEL.md 7.20). Off by default (version 1: a purchase reads the viewer's interest
    in the room's content category)."""

    product_match: bool = setting(
        False,
        "a purchase in a room selling a merchant's products reads the viewer's interest, need "
        "and satiation in the product's category, not the room's content category",
    )


@dataclass(frozen=True)
class CampaignConfig:
    """An ad budget attached to every stream of a group."""

    strategy: str = setting("fixed", "paid-traffic strategy (see `snowball strategies`)")
    daily_budget: float = setting(500.0, "daily budget in yuan (the strategy's base budget)", 0)
    bidding: str = setting("max_delivery", "bidding mode", choices=BIDDING)
    target_roi: float = setting(3.0, "cost-cap target: paid GMV per yuan spent", 0, lo_open=True)
    targeting: str = setting("interest", "audience", choices=TARGETING)
    start_day: int = setting(0, "first day the campaign may spend", 0)
    scale_step: float = setting(0.3, "budget growth per day when a strategy scales", 0, 10)
    max_budget: float = setting(20_000.0, "ceiling on any daily budget a strategy sets", 0)
    burst_days: int = setting(2, "days of a cold-start burst", 0, 365)
    burst_multiplier: float = setting(4.0, "cold-start burst budget as a multiple of the base", 0)
    roi_floor: float = setting(1.5, "feedback-gated: paid ROI below which it never scales", 0)
    leverage_threshold: float = setting(
        0.2, "feedback-gated: extra free impressions per paid impression needed to scale", -100, 100
    )
    hold_days: int = setting(
        3, "feedback-gated: live days to hold after a raise that brought no free traffic", 0, 365
    )
    capacity_share: float = setting(
        0.0,
        "feedback-gated: share of the held-back increment invested in the room's "
        "conversion capacity",
        0,
        1,
    )
    # --- audience expansion (issue 22, "paid traffic to explore"; simulation/ads.py) -------
    expansion: float = setting(
        0.0,
        "audience expansion level on the first day (0 = none): look-alike bar x (1 - level); "
        "interest and look-alike campaigns add ceil(level x expansion_categories) of the "
        "room's audience's next-best categories",
        0,
        1,
    )
    expansion_categories: int = setting(
        2, "expansion: next-best categories of the room's audience added at level 1", 0, 63
    )
    expansion_step: float = setting(
        0.25, "explore_when_stable: expansion level added per stable live day", 0, 1, lo_open=True
    )
    expansion_max: float = setting(
        1.0, "explore_when_stable: ceiling on the expansion level it sets", 0, 1
    )
    stable_window: int = setting(
        3, "explore_when_stable: live days over which free traffic's variation is measured", 2, 365
    )
    stable_cv: float = setting(
        0.2,
        "explore_when_stable: free traffic is stable when its coefficient of variation over "
        "the window is below this",
        0,
        10,
        lo_open=True,
    )


@dataclass(frozen=True)
class OperatorConfig:
    """The room operator's settings (``[streams.<group>.operator_params]``; see
    ``snowball operators`` and docs/MODEL.md 7.17). Each operator reads the keys it names."""

    capacity_budget: float = setting(
        300.0,
        "yuan a day spent on the host and script (capacity_investment: every live day; "
        "capacity_first: every live day while it holds the ads)",
        0,
    )
    capacity_margin_share: float = setting(
        0.0,
        "plus this share of the day's gross margin (when positive), invested the same way",
        0,
        1,
    )
    roi_threshold: float = setting(
        3.0,
        "capacity_first: paid ROI (GMV per ad yuan) at which it stops holding and scales",
        0,
        1000,
        lo_open=True,
    )
    hold_factor: float = setting(
        1.0,
        "capacity_first: tomorrow's budget as a share of the strategy's while it holds "
        "(1 = the strategy's budget, below 1 cuts it)",
        0,
        1,
        lo_open=True,
    )
    scale_step: float = setting(
        0.3, "capacity_first: growth of its budget factor per live day once ROI clears", 0, 10
    )
    max_factor: float = setting(
        10.0,
        "capacity_first: ceiling on its budget factor (the campaign's max_budget caps too)",
        1,
        1000,
    )
    # --- alliance_diagnosis (issue 22, simulation/alliance.py; docs/MODEL.md 7.20) ---
    assortment: tuple[int, ...] = setting(
        (),
        "alliance_diagnosis: categories of the merchant's products an alliance room may be "
        "re-matched to; empty = the merchant room's own category only",
        0,
    )
    conversion_floor: float = setting(
        0.03,
        "alliance_diagnosis: an alliance room's orders per entry below which it re-matches "
        "the room's product",
        0,
        1,
    )
    traffic_floor: float = setting(
        0.5,
        "alliance_diagnosis: an alliance room's organic impressions, as a share of the "
        "average live room's that day, below which it funds the room's paid traffic",
        0,
        100,
    )
    min_entries: int = setting(
        30, "alliance_diagnosis: entries a day needs before its conversion is judged", 1
    )
    traffic_budget: float = setting(
        500.0,
        "alliance_diagnosis: yuan a day it funds an alliance room's paid traffic with (charged "
        "to the merchant)",
        0,
    )
    # --- adaptive_mix (issue 22, docs/MODEL.md 7.17) ---
    mix_step: float = setting(
        0.2,
        "adaptive_mix: share of the way the mix moves each live day towards the target "
        "(airtime in proportion to each item's earnings per minute on air)",
        0,
        1,
        lo_open=True,
    )
    mix_floor: float = setting(
        0.05,
        "adaptive_mix: least time share of each item of the script (x 3 items <= 1)",
        0,
        1,
    )
    mix_window: int = setting(
        3, "adaptive_mix: days of earnings and airtime summed for earnings per minute", 1, 365
    )


@dataclass(frozen=True)
class StreamGroupConfig:
    """A group of streams drawn from the same trait ranges. Ranges are [low, high] uniform;
    a single number fixes the trait."""

    kind: str = setting("field", "field | alliance | top_kol", choices=STREAM_KINDS)
    count: int = setting(1, "number of streams in the group", 0)
    category: int = setting(-1, "category index, -1 = drawn uniformly", -1)
    hook: tuple[float, float] = setting(
        (0.08, 0.08), "impression -> entry probability for an average viewer", 0, 1
    )
    retention: tuple[float, float] = setting((1.0, 1.0), "dwell multiplier", 0, 20)
    persuasion: tuple[float, float] = setting(
        (0.05, 0.05), "conversion strength (hazard scale)", 0, 1
    )
    price: tuple[float, float] = setting(
        (100.0, 100.0), "room's reference price in yuan", 0, lo_open=True
    )
    quality: tuple[float, float] = setting((0.85, 0.85), "true product quality in [0, 1]", 0, 1)
    mix: tuple[float, ...] = setting(
        (0.3, 0.55, 0.15), "share of time per role (driver, profit, welfare)", 0, 1, length=3
    )
    start_hour: tuple[float, float] = setting((19.0, 19.0), "hour the stream goes live", 0, 24)
    hours: float = setting(4.0, "hours on air per streaming day", 0, 24)
    days_per_week: float = setting(7.0, "streaming days per week", 0, 7)
    pattern: str = setting(
        "fixed",
        "fixed = streaming days spread evenly over the calendar; random = each day drawn "
        "independently with probability days_per_week / 7",
        choices=SCHEDULE_PATTERNS,
    )
    warmup_videos: int = setting(0, "warm-up short videos posted before each stream", 0, 100)
    warmup_reach: float = setting(
        0.002, "viewers one warm-up video reaches, as a share of viewers", 0, 1
    )
    initial_followers: float = setting(0.0, "followers at start as a share of viewers", 0, 1)
    presented_quality: float = setting(
        -1.0,
        "economics.returns: the quality the room presents (its listing and host's claims), in "
        "[0, 1]; -1 = economics.presented_quality (by default the room's true quality). A "
        "room that cuts its quality quietly keeps presenting the old one",
        -1,
        1,
    )
    merchant: str = setting("", "merchant whose products it sells; '' = its own")
    campaign: CampaignConfig | None = setting(None, "ad budget attached to each stream")
    operator: str = setting("static", "room operator (see `snowball operators`)")
    operator_params: OperatorConfig = field(
        default_factory=OperatorConfig, metadata={"doc": "the room operator's settings"}
    )
    product_category: int = setting(
        -1,
        "an alliance or top_kol room selling a merchant's products: the category of the "
        "product it sells (alliance.product_match); -1 = the merchant room's category",
        -1,
    )
    # --- explicit item scripts (issue 22, docs/MODEL.md 7.18) ---
    script_roles: tuple[str, ...] = setting(
        (),
        "run_of_show: the room's script as a sequence of item roles (driver, profit, "
        "welfare; a role may repeat), each on air for its script_minutes; the pass lasts "
        "their sum and the mix is the roles' shares of it; empty: one item per role, each for "
        "its mix share of show_cycle_minutes",
    )
    script_minutes: tuple[float, ...] = setting(
        (), "run_of_show: explanation minutes of each item of script_roles", 0, lo_open=True
    )
    # --- top KOL sessions (issue 22, simulation/kol.py; docs/MODEL.md 7.21) ---
    kol_session: str = setting(
        "v1",
        "a top KOL's session for its merchant: v1 = version 1 (every order is the merchant's, "
        "buyers may follow the merchant's room by behaviour.store_follow_after_buy); mixed = "
        "混场, the merchant's hero item holds kol_slot_share of the session; dedicated = 专场, "
        "the session sells the merchant's assortment",
        choices=KOL_SESSIONS,
    )
    kol_slot_share: float = setting(
        0.05, "混场: share of the session the merchant's hero item is on air", 0, 1, lo_open=True
    )
    kol_slot_fee: float = setting(
        100.0, "混场: slot fee (坑位费) the merchant pays per session, yuan", 0
    )
    kol_dedicated_fee: float = setting(
        2000.0, "专场: fee the merchant pays per dedicated session, yuan", 0
    )
    kol_capture_follow: float = setting(
        0.15,
        "probability a buyer of the merchant's goods in the KOL session follows the merchant's "
        "own room (none when the merchant has no own room)",
        0,
        1,
    )
    kol_seed_lookalike: bool = setting(
        True, "the merchant's KOL buyers join its look-alike seeds (audience precision)"
    )


@dataclass(frozen=True)
class MetricsConfig:
    """Metrics a run measures beyond the built-in ones (simulation/metrics.py)."""

    extra: tuple[str, ...] = setting(
        (),
        "user metrics, each 'package.module:ClassName' (imported when the model is built; "
        "its level puts it in the tick or the day table)",
    )


@dataclass(frozen=True)
class Scenario:
    """A complete, validated scenario."""

    name: str = setting("scenario", "short name")
    description: str = setting("", "one line shown by `snowball scenarios`")
    seed: int = setting(0, "root seed of the run", 0)
    days: int = setting(7, "days simulated", 1, 3650)
    tick_minutes: int = setting(10, "minutes per tick (must divide a day)", 1, 1440)
    policy: str = setting("interest_feed", "distribution policy")
    capacity_return: float = setting(
        0.15,
        "persuasion gained (relative) per doubling of capacity investment over 1000 yuan",
        0,
        10,
    )
    capacity_retention_return: float = setting(
        0.0,
        "retention gained (relative) per doubling of capacity investment over 1000 yuan "
        "(0 = version 1: investment raises persuasion only)",
        0,
        10,
    )
    capacity_delay_days: int = setting(
        0,
        "days between a capacity investment's cost and its effect (0 = version 1: it works "
        "from the day after the decision)",
        0,
        365,
    )
    population: PopulationConfig = field(
        default_factory=PopulationConfig, metadata={"doc": "viewers"}
    )
    behaviour: BehaviourConfig = field(
        default_factory=BehaviourConfig, metadata={"doc": "viewer response"}
    )
    feed: FeedConfig = field(default_factory=FeedConfig, metadata={"doc": "interest feed"})
    funnel: FunnelConfig = field(default_factory=FunnelConfig, metadata={"doc": "search funnel"})
    platform: PlatformConfig = field(
        default_factory=PlatformConfig, metadata={"doc": "version 2 platform mechanisms"}
    )
    auction: AuctionConfig = field(default_factory=AuctionConfig, metadata={"doc": "ad auction"})
    calendar: CalendarConfig = field(
        default_factory=CalendarConfig, metadata={"doc": "campaign calendar"}
    )
    economics: EconomicsConfig = field(
        default_factory=EconomicsConfig, metadata={"doc": "merchants' profit and returns"}
    )
    alliance: AllianceConfig = field(
        default_factory=AllianceConfig, metadata={"doc": "alliance product match"}
    )
    urn: UrnConfig = field(
        default_factory=UrnConfig, metadata={"doc": "urn policy (validation special cases)"}
    )
    cascade: CascadeConfig = field(
        default_factory=CascadeConfig, metadata={"doc": "cascade policy (cold-start branching)"}
    )
    private_values: PrivateValuesConfig = field(
        default_factory=PrivateValuesConfig,
        metadata={"doc": "private_values policy (auction with independent private values)"},
    )
    metrics: MetricsConfig = field(default_factory=MetricsConfig, metadata={"doc": "user metrics"})
    streams: dict[str, StreamGroupConfig] = field(
        default_factory=dict, metadata={"doc": "stream groups"}
    )

    @property
    def ticks_per_day(self) -> int:
        return 1440 // self.tick_minutes

    @property
    def n_ticks(self) -> int:
        return self.days * self.ticks_per_day

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (TOML-compatible apart from None campaigns) of every resolved value."""
        return to_dict(self)


# --------------------------------------------------------------------------------------------
# Building and validation
# --------------------------------------------------------------------------------------------


def describe_rule(meta: dict[str, Any], kind: str) -> str:
    """What a field allows, for messages: ``kind`` ("a number") with its range from
    :func:`setting`'s metadata, or its choices."""
    lo, hi, lo_open = meta.get("lo"), meta.get("hi"), meta.get("lo_open")
    if meta.get("choices"):
        return "one of " + ", ".join(meta["choices"])
    parts = []
    if lo is not None:
        parts.append(("> " if lo_open else ">= ") + f"{lo:g}")
    if hi is not None:
        parts.append(f"<= {hi:g}")
    rng = " and ".join(parts)
    return f"{kind} {rng}".strip()


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
"""The integers a scenario can hold: TOML's own range, and what the model's int64 arrays
store (a larger count reached numpy as a ValueError)."""


def check_number(x: Any, meta: dict, kind: str, source: str, key: str, whole: Any) -> float:
    """``x`` if it is a finite number of ``kind`` (``a number`` or ``an integer``, int64) in
    the field's range, else a :class:`ConfigError` about ``key`` showing ``whole``."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise ConfigError(source, key, whole, f"must be {describe_rule(meta, kind)}")
    if kind == "an integer" and not isinstance(x, int):
        raise ConfigError(source, key, whole, f"must be {describe_rule(meta, kind)}")
    if isinstance(x, float) and not math.isfinite(x):
        raise ConfigError(source, key, whole, f"must be {describe_rule(meta, kind)}")
    if kind == "an integer" and not INT64_MIN <= x <= INT64_MAX:
        lo, hi = meta.get("lo"), meta.get("hi")
        low = INT64_MIN if lo is None else int(lo)
        high = INT64_MAX if hi is None else int(hi)
        raise ConfigError(
            source,
            key,
            whole,
            f"must be an integer in {low}..{high} (a TOML integer, and the model's arrays, "
            "hold at most 64 bits)",
        )
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and (x < lo or (meta.get("lo_open") and x == lo)):
        raise ConfigError(source, key, whole, f"must be {describe_rule(meta, kind)}")
    if hi is not None and x > hi:
        raise ConfigError(source, key, whole, f"must be {describe_rule(meta, kind)}")
    return x


def coerce(tp: Any, value: Any, meta: dict, source: str, key: str) -> Any:
    """``value`` (from TOML) as type ``tp`` checked against the field's rule (``meta`` from
    :func:`setting`); nested dataclasses are built; a :class:`ConfigError` otherwise."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(source, key, value, "must be a table")
        return build(tp, value, source, key)
    if origin is typing.Union or origin is getattr(__import__("types"), "UnionType", None):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return coerce(args[0], value, meta, source, key)
    if origin is dict:
        _, vt = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ConfigError(source, key, value, "must be a table of named groups")
        return {k: coerce(vt, v, meta, source, f"{key}.{k}") for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(source, key, value, "must be true or false")
        return value
    if tp is int:
        return check_number(value, meta, "an integer", source, key, value)
    if tp is float:
        return float(check_number(value, meta, "a number", source, key, value))
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(
                source,
                key,
                value,
                "must be a string"
                + (f" ({describe_rule(meta, '')})" if meta.get("choices") else ""),
            )
        if meta.get("choices") and value not in meta["choices"]:
            raise ConfigError(source, key, value, f"must be {describe_rule(meta, '')}")
        return value
    if origin is tuple and typing.get_args(tp)[0] is str:
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise ConfigError(source, key, value, "must be a list of strings")
        if key.endswith("metrics.extra"):
            _check_metric_specs(value, source, key)
        return tuple(value)
    if origin is tuple:
        args = typing.get_args(tp)
        elem = args[0]
        kind = "an integer" if elem is int else "a number"
        fixed_pair = len(args) == 2 and args[1] is not Ellipsis
        if fixed_pair and not isinstance(value, (list, tuple)):
            x = float(check_number(value, meta, kind, source, key, value))
            return (x, x)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(
                source, key, value, f"must be a list of numbers ({describe_rule(meta, kind)})"
            )
        if fixed_pair and len(value) != 2:
            raise ConfigError(
                source, key, value, f"must be a number or [low, high] ({describe_rule(meta, kind)})"
            )
        length = meta.get("length")
        if length is not None and len(value) != length:
            raise ConfigError(source, key, value, f"must be a list of {length} numbers")
        out = tuple(
            (int if elem is int else float)(check_number(v, meta, kind, source, key, value))
            for v in value
        )
        if fixed_pair and out[0] > out[1]:
            raise ConfigError(source, key, value, "must be [low, high] with low <= high")
        return out
    raise TypeError(f"unsupported config type {tp!r}")  # pragma: no cover - schema bug


def build(cls: type, raw: dict[str, Any], source: str = "<config>", prefix: str = "") -> Any:
    """Build and validate dataclass ``cls`` from a raw mapping.

    Raises
    ------
    ConfigError
        For an unknown key (with the nearest known key suggested), a wrong type or a value
        out of range.
    """
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key in raw:
        if key not in names:
            near = difflib.get_close_matches(key, names, n=1, cutoff=0.5)
            hint = f" (did you mean '{_join(prefix, near[0])}'?)" if near else ""
            raise ConfigError(
                source,
                _join(prefix, key),
                raw[key],
                f"unknown key{hint}; known keys: {', '.join(names)}",
            )
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in raw:
            kwargs[f.name] = coerce(
                hints[f.name], raw[f.name], dict(f.metadata), source, _join(prefix, f.name)
            )
    obj = cls(**kwargs)
    _check_cross(obj, source, prefix)
    return obj


def _check_metric_specs(value: Any, source: str, key: str) -> None:
    """Each entry of ``metrics.extra`` is written ``package.module:Name`` and names a new
    metric (the import itself happens when a model is built: simulation/metrics.py)."""
    for spec in value:
        module, sep, name = spec.partition(":")
        parts = [*module.split("."), *name.split(".")]
        if not sep or not all(p.isidentifier() for p in parts):
            raise ConfigError(source, key, spec, "must be written 'package.module:ClassName'")
    if len(set(value)) < len(value):
        raise ConfigError(source, key, list(value), "lists a metric twice")


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def check_merchants(scenario: "Scenario", source: str) -> None:
    """A group's ``merchant`` names a field group of exactly one room (the merchant's own)."""
    for name, g in scenario.streams.items():
        if not g.merchant:
            continue
        m = scenario.streams.get(g.merchant)
        if m is None or m.kind != "field" or m.count != 1:
            raise ConfigError(
                source,
                f"streams.{name}.merchant",
                g.merchant,
                "must name a stream group of kind 'field' with count = 1",
            )


def check_kol_sessions(scenario: "Scenario", source: str) -> None:
    """A ``kol_session`` other than v1 is a top KOL's session for a merchant: the group is of
    kind 'top_kol' and names its ``merchant`` (simulation/kol.py)."""
    for name, g in scenario.streams.items():
        if g.kol_session != "v1" and (g.kind != "top_kol" or not g.merchant):
            raise ConfigError(
                source,
                f"streams.{name}.kol_session",
                g.kol_session,
                "needs kind = 'top_kol' and a merchant (else 'v1')",
            )


def check_ticks(sc: "Scenario", source: str, prefix: str = "") -> None:
    """Tick sizes under which the model cannot work are refused, with the reason.

    Three requirements of the model: a day is a whole number of ticks (a day's schedule
    repeats every ``ticks_per_day`` ticks); a tick lies within one hour of the day, i.e.
    ``tick_minutes`` divides 60 (sessions are drawn at the daily rhythm's weight of the hour
    a tick starts in, ``CHRONOTYPES[:, hour]``, and the schedule places a stream's start at
    ``round(start_hour * ticks_per_hour)``: a longer tick skips hours of the rhythm and puts
    evening streams at midnight); and a stream on air for ``hours`` spans at least one tick
    (``round(hours * ticks_per_hour) >= 1``; a stream of zero ticks is never live, which is
    how a 720-minute tick ran to 0 impressions and 0 GMV).
    """
    t = sc.tick_minutes
    key = _join(prefix, "tick_minutes")
    if 1440 % t:
        raise ConfigError(source, key, t, "must divide 1440 (minutes in a day)")
    if 60 % t:
        raise ConfigError(
            source,
            key,
            t,
            "must divide 60: the model draws each tick's sessions at the daily rhythm's "
            "weight of one hour, so a tick cannot span hours (1, 2, 3, 4, 5, 6, 10, 12, 15, "
            "20, 30 or 60)",
        )
    for name, g in sc.streams.items():
        if g.count > 0 and g.hours > 0 and round(g.hours * 60 / t) < 1:
            raise ConfigError(
                source,
                f"streams.{name}.hours",
                g.hours,
                f"is {g.hours * 60:g} minutes on air, less than half a tick of {t} minutes: "
                "the stream would never be live; make it 0 (never on air), at least "
                f"{t / 120:.3g} hours, or use a shorter tick_minutes",
            )


PART_REGISTRIES: dict[str, typing.Callable[[str, str, str], object]] = {}
"""Lookups of the registries of interchangeable parts, by the scenario key that names a part:
``policy`` (:func:`simulation.distribution.policy_class`), ``strategy``
(:func:`simulation.strategies.strategy_class`) and ``operator``
(:func:`simulation.operators.operator_class`). Each registry adds its lookup here when its
module is imported (``import simulation`` imports all three), so the registries validate their own
names and this module never imports what it configures: it stays at the bottom of the import
graph (``tests/test_import_graph.py``). A lookup takes ``(name, source, key)`` and raises
:class:`ConfigError` for a name its registry does not hold."""


def register_part_registry(kind: str, lookup: typing.Callable[[str, str, str], object]) -> None:
    """Called once by a registry module: ``lookup(name, source, key)`` validates the names
    of ``kind`` (the scenario key that holds them) from now on."""
    PART_REGISTRIES[kind] = lookup


def check_part_name(kind: str, name: str, source: str, key: str) -> None:
    """Validate ``name`` with the registry of ``kind``; a missing registry is a programming
    error (its module was never imported), not a user's."""
    lookup = PART_REGISTRIES.get(kind)
    if lookup is None:
        raise RuntimeError(
            f"no registry of {kind} names: import simulation (or the registry's module) "
            "before loading a scenario"
        )
    lookup(name, source, key)


def unknown_name(source: str, key: str, name: str, names: typing.Iterable[str]) -> ConfigError:
    """The error for a name that is not in a registry: the names allowed, in the order given,
    and the nearest one when a name is close (a typo)."""
    names = list(names)
    near = difflib.get_close_matches(name, names, n=1, cutoff=0.6) if isinstance(name, str) else []
    hint = f" (did you mean '{near[0]}'?)" if near else ""
    return ConfigError(source, key, name, f"must be one of {', '.join(names)}{hint}")


def _check_cross(obj: Any, source: str, prefix: str) -> None:
    """Constraints between fields of one section."""
    if isinstance(obj, Scenario):
        check_ticks(obj, source, prefix)
        check_part_name("policy", obj.policy, source, _join(prefix, "policy"))
        if not obj.streams or sum(g.count for g in obj.streams.values()) == 0:
            raise ConfigError(
                source, _join(prefix, "streams"), "(none)", "a scenario needs at least one stream"
            )
        k = obj.population.categories
        for name, g in obj.streams.items():
            if g.category >= k:
                raise ConfigError(
                    source,
                    f"streams.{name}.category",
                    g.category,
                    f"must be -1 or in 0..{k - 1} (population.categories)",
                )
        check_merchants(obj, source)
        for name, g in obj.streams.items():  # alliance (issue 22): categories must exist
            if g.product_category >= k or (g.product_category >= 0 and not g.merchant):
                raise ConfigError(
                    source,
                    f"streams.{name}.product_category",
                    g.product_category,
                    f"must be -1 or in 0..{k - 1} (population.categories), on a group that "
                    "sells for a merchant",
                )
            if any(c >= k for c in g.operator_params.assortment):
                raise ConfigError(
                    source,
                    f"streams.{name}.operator_params.assortment",
                    list(g.operator_params.assortment),
                    f"categories must be in 0..{k - 1} (population.categories)",
                )
        for name, g in obj.streams.items():
            if g.script_roles and not obj.behaviour.run_of_show:
                raise ConfigError(
                    source,
                    f"streams.{name}.script_roles",
                    list(g.script_roles),
                    "an explicit script needs behaviour.run_of_show = true",
                )
        for name, g in obj.streams.items():  # operators that read the per-item dashboard
            cls = PART_REGISTRIES["operator"](g.operator, source, f"streams.{name}.operator")
            if getattr(cls, "needs_run_of_show", False) and not obj.behaviour.run_of_show:
                raise ConfigError(
                    source,
                    f"streams.{name}.operator",
                    g.operator,
                    f"operator {g.operator} needs behaviour.run_of_show = true",
                )
        check_kol_sessions(obj, source)
        for d in obj.calendar.campaign_days:
            if d >= obj.days:
                raise ConfigError(
                    source,
                    "calendar.campaign_days",
                    list(obj.calendar.campaign_days),
                    f"days must be in 0..{obj.days - 1}",
                )
        for kind, name, ev in obj.calendar.events():
            table = {"sale": "sales", "marketing_ip": "marketing_ips"}.get(kind, "category_events")
            key = f"calendar.{table}.{name}"
            for d in ev.days:
                if d >= obj.days:
                    raise ConfigError(
                        source, f"{key}.days", list(ev.days), f"days must be in 0..{obj.days - 1}"
                    )
            if isinstance(ev, CategoryEventConfig) and not 0 <= ev.category < k:
                raise ConfigError(
                    source,
                    f"{key}.category",
                    ev.category,
                    f"must be in 0..{k - 1} (population.categories): a category event needs "
                    "its category",
                )
    elif isinstance(obj, StreamGroupConfig):
        if abs(sum(obj.mix) - 1.0) > 1e-6:
            raise ConfigError(
                source, _join(prefix, "mix"), list(obj.mix), "shares must add up to 1"
            )
        check_part_name("operator", obj.operator, source, _join(prefix, "operator"))
        if len(obj.script_roles) != len(obj.script_minutes):
            raise ConfigError(
                source,
                _join(prefix, "script_minutes"),
                list(obj.script_minutes),
                f"must give minutes for each of the {len(obj.script_roles)} items of script_roles",
            )
        for role in obj.script_roles:
            if role not in ROLES:
                raise ConfigError(
                    source,
                    _join(prefix, "script_roles"),
                    list(obj.script_roles),
                    f"each item's role must be one of {', '.join(ROLES)}",
                )
        floor = obj.operator_params.mix_floor
        if floor * len(obj.mix) > 1 + 1e-12:
            raise ConfigError(
                source,
                _join(prefix, "operator_params.mix_floor"),
                floor,
                f"must be at most {1 / len(obj.mix):.6g}: each of the {len(obj.mix)} items "
                "of the script gets at least the floor and the shares add up to 1",
            )
        if obj.merchant and obj.kind == "field":
            raise ConfigError(
                source,
                _join(prefix, "merchant"),
                obj.merchant,
                "only alliance and top_kol streams sell for another merchant",
            )
    elif isinstance(obj, EconomicsConfig):
        q = obj.presented_quality
        if q != -1 and not 0 <= q <= 1:
            raise ConfigError(
                source,
                _join(prefix, "presented_quality"),
                q,
                "must be -1 (each room's true quality) or in [0, 1]",
            )
    elif isinstance(obj, CampaignConfig):
        check_part_name("strategy", obj.strategy, source, _join(prefix, "strategy"))
    elif isinstance(obj, FeedConfig):
        if obj.demote_percentile > obj.promote_percentile:
            raise ConfigError(
                source,
                _join(prefix, "demote_percentile"),
                obj.demote_percentile,
                "must be <= feed.promote_percentile",
            )
        if len(obj.tier_caps) < 1 or list(obj.tier_caps) != sorted(obj.tier_caps):
            raise ConfigError(
                source,
                _join(prefix, "tier_caps"),
                list(obj.tier_caps),
                "must be a non-empty increasing list",
            )


def to_dict(obj: Any) -> Any:
    """Recursively turn a config object into plain Python values."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return [to_dict(v) for v in obj]
    return obj


# --------------------------------------------------------------------------------------------
# Files and overrides
# --------------------------------------------------------------------------------------------

SCENARIO_DIR = package_data("scenarios")  # experiments/scenarios/, shipped in the wheel


def scenario_names() -> list[str]:
    """The named scenarios (the bundled ``SCENARIO_DIR/*.toml``), sorted."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))


def parse_override(text: str) -> tuple[str, Any]:
    """Parse ``key=value``; the value is read as TOML (``3``, ``0.5``, ``"x"``, ``[1, 2]``,
    ``true``), falling back to a bare string."""
    if "=" not in text:
        raise ConfigError("--set", text, MISSING, "must be written key=value")
    key, _, raw = text.partition("=")
    key = key.strip()
    if not key:
        raise ConfigError("--set", text, MISSING, "must be written key=value")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key, value


def apply_overrides(
    raw: dict[str, Any], overrides: dict[str, Any] | None, source: str = "--set"
) -> dict[str, Any]:
    """Return a copy of ``raw`` with dotted-key overrides applied (tables are created as
    needed; unknown keys are caught later by :func:`build`, which names them)."""
    import copy

    out = copy.deepcopy(raw)
    for key, value in (overrides or {}).items():
        node = out
        parts = key.split(".")
        for i, part in enumerate(parts[:-1]):
            nxt = node.get(part)
            if nxt is None:
                nxt = node[part] = {}
            if not isinstance(nxt, dict):
                raise ConfigError(source, ".".join(parts[: i + 1]), nxt, "is a value, not a table")
            node = nxt
        node[parts[-1]] = value
    return out


def resolve_path(scenario: str | Path | None) -> Path:
    """A scenario given as a path, or as a name in experiments/scenarios/."""
    if scenario is None:
        return SCENARIO_DIR / "default.toml"
    p = Path(scenario)
    if not _exists(p) and p.parent == Path("."):
        # A name ("default"), or a named scenario's file name ("default.toml").
        named = SCENARIO_DIR / (p.name if p.suffix == ".toml" else f"{scenario}.toml")
        if named.exists():
            return named
    return p


def no_such_scenario() -> str:
    """What is allowed where a scenario file or name was not found."""
    names = ", ".join(scenario_names())
    return f"no such scenario file or name; named scenarios: {names}"


def read_toml(path: Path, what: str = "scenario") -> dict[str, Any]:
    """Read one TOML file (a scenario, or ``what`` else); anything that keeps it from being
    read is a :class:`ConfigError` (:func:`simulation.files.read_toml` says which: a folder,
    a FIFO, a device, a dangling or looping link, no permission, too large, not UTF-8, a
    syntax error with its line and column)."""
    missing = no_such_scenario() if what == "scenario" else None
    try:
        return files.read_toml(path, what, missing=missing)
    except files.UnreadableFile as exc:
        raise ConfigError(str(path), exc.key, exc.value, exc.allowed) from None


def _exists(path: Path) -> bool:
    """Whether something is at ``path`` (a dangling or looping link counts: reading it then
    says what is wrong, instead of the name being looked up elsewhere)."""
    try:
        os.lstat(path)
    except OSError:
        return False
    return True


def resolve_base(base: str, path: Path) -> Path | None:
    """The file that ``base = "..."`` in the scenario file ``path`` names, or None.

    Looked up relative to the scenario file's own folder (``base`` as written, then with
    ``.toml`` added to a name without a suffix), then among the named scenarios of
    experiments/scenarios/, and never in the current folder: a file ``default`` where the
    command runs must not change what ``base = "default"`` means. A candidate that is the
    scenario file itself is skipped, so that ``default.toml`` may extend the named
    ``default``.
    """
    here = path.parent
    rel = Path(base).expanduser()
    candidates = [here / rel]
    if not rel.suffix:
        candidates.append(here / f"{base}.toml")
    if rel.parent == Path(".") and not rel.is_absolute():
        candidates.append(SCENARIO_DIR / (rel.name if rel.suffix == ".toml" else f"{base}.toml"))
    own = os.path.realpath(path)
    for c in candidates:
        if _exists(c) and os.path.realpath(c) != own:
            return c
    return None


def read_raw(path: Path, _seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """Read a scenario file, resolving ``base = "NAME"`` (inherit every value of another
    scenario, then overlay this file's tables key by key; see :func:`resolve_base`)."""
    raw = read_toml(path)
    base = raw.pop("base", None)
    if base is None:
        return raw
    if not isinstance(base, str) or not base.strip():
        raise ConfigError(str(path), "base", base, "must be a scenario name or path")
    base_path = resolve_base(base, path)
    if base_path is None:
        raise ConfigError(
            str(path),
            "base",
            base,
            f"no such file next to {path.name} and no such named scenario; named scenarios: "
            + ", ".join(scenario_names()),
        )
    me = os.path.realpath(path)
    if os.path.realpath(base_path) in (*_seen, me):
        raise ConfigError(str(path), "base", base, "scenarios inherit from each other in a loop")
    parent = read_raw(base_path, (*_seen, me))
    parent.pop("name", None)
    parent.pop("description", None)
    return _merge(parent, raw)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_scenario(
    scenario: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    new_groups: bool = True,
) -> Scenario:
    """Load a scenario file (or a named scenario) with optional dotted-key overrides.

    ``new_groups=False`` refuses an override of a stream group the scenario does not have
    (the command line's ``--set``: a mistyped group name would otherwise add a new group of
    default rooms); programs that add groups on purpose keep the default.

    Examples
    --------
    >>> sc = load_scenario("default", {"population.viewers": 10_000, "days": 2})
    """
    path = resolve_path(scenario)
    raw = read_raw(path)
    raw.setdefault("name", path.stem)
    source = str(path) if not overrides else f"{path} (with {', '.join(overrides)} set)"
    if not new_groups and isinstance(raw.get("streams", {}), dict):  # else build() says why
        groups = list(raw.get("streams", {}))
        for key, value in (overrides or {}).items():
            parts = key.split(".")
            if parts[0] == "streams" and len(parts) >= 2 and parts[1] not in groups:
                near = difflib.get_close_matches(parts[1], groups, n=1, cutoff=0.5)
                hint = f" (did you mean '{near[0]}'?)" if near else ""
                raise ConfigError(
                    source,
                    key,
                    value,
                    f"stream group '{parts[1]}' is not in the scenario{hint}; groups: "
                    f"{', '.join(groups)} (add a new group in a scenario file)",
                )
    return build(Scenario, apply_overrides(raw, overrides, source), source)


def scenario_from_dict(raw: dict[str, Any], source: str = "<dict>") -> Scenario:
    """Build a scenario from an in-memory mapping (same rules as a file)."""
    return build(Scenario, raw, source)


def replace(scenario: Scenario, **overrides: Any) -> Scenario:
    """A copy of ``scenario`` with dotted-key overrides, validated like a file."""
    raw = apply_overrides(to_dict(scenario), overrides)
    return build(Scenario, drop_none(raw), f"{scenario.name} (with overrides)")


def drop_none(d: Any) -> Any:
    """``d`` without its None values, in nested tables too (TOML has no null)."""
    if isinstance(d, dict):
        return {k: drop_none(v) for k, v in d.items() if v is not None}
    return d


def known_keys(cls: type = Scenario, prefix: str = "") -> list[str]:
    """Every dotted key a scenario accepts (stream groups as ``streams.<group>.<key>``)."""
    out = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        key = _join(prefix, f.name)
        if dataclasses.is_dataclass(tp):
            out += known_keys(tp, key)
        elif typing.get_origin(tp) is dict:  # named groups: streams, calendar events
            holder = "<group>" if f.name == "streams" else "<event>"
            out += known_keys(typing.get_args(tp)[1], f"{key}.{holder}")
        elif f.name == "campaign":
            out += known_keys(CampaignConfig, key)
        else:
            out.append(key)
    return out
