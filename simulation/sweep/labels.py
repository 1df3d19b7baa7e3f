"""Words of a sweep's output: counts with their noun, and each summary metric's label and
unit. A leaf module, so that the package, the spec, the engine, the analysis and the plots
can all use them without importing one another."""


def plural(n: int, word: str) -> str:
    """``1 replicate``, ``6 replicates``."""
    return f"{n} {word}" + ("" if n == 1 else "s")


#: Label and unit of each summary metric of the simulator.
METRIC_LABELS: dict[str, tuple[str, str]] = {
    "total_gmv": ("total GMV of all streams", "yuan"),
    "total_orders": ("orders on the platform", "orders"),
    "focal_gmv": ("GMV of the focal stream", "yuan"),
    "focal_margin": ("margin of the focal stream", "yuan"),
    "focal_profit": ("profit of the focal stream (economics.profit_accounting)", "yuan"),
    "focal_final_tier": ("traffic-pool tier of the focal stream on its last day on air", "tier"),
    "focal_followers": ("followers of the focal stream at the end", "viewers"),
    "free_impressions": ("free impressions of the focal stream", "impressions"),
    "paid_impressions": ("paid impressions of the focal stream", "impressions"),
    "follow_impressions": ("follow-channel impressions of the focal stream", "impressions"),
    "ad_spend": ("ad spend of the focal stream", "yuan"),
    "roi": ("ROI of the focal stream", "paid GMV yuan per ad yuan"),
    "leverage": ("free-traffic leverage", "extra free per paid impression"),
    "gini_gmv": ("Gini of GMV across streams", "0-1"),
    "top10_share_gmv": ("GMV share of the top 10% of streams", "share"),
    "took_off": ("probability that the focal stream takes off", "share of runs"),
    "wall_seconds": ("wall time per run", "s"),
}


def metric_label(metric: str, is_bool: bool = False) -> str:
    """``label (unit)`` for axes and colour bars."""
    if metric in METRIC_LABELS:
        label, unit = METRIC_LABELS[metric]
        return f"{label} ({unit})"
    return f"share of runs with {metric}" if is_bool else metric
