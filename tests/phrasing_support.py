"""A vocabulary for the phrasing tests and benchmark: metric names, labels and synonyms
read from the dbt YAML itself (the declared data, not a copy), dimensions as the
semantic layer offers them, and the demo data's values and experiment ids."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml

from bot.core.metric_questions import Vocabulary
from bot.core.metrics import DimensionInfo, MetricInfo

ROOT = Path(__file__).resolve().parent.parent
METRICS_YAML = ROOT / "dbt_project/models/marts/semantic/_metrics.yml"
AS_OF = date(2026, 11, 25)  # a Wednesday
USER = ("age_band", "country", "gender", "traffic_source")
ITEM = (*USER, "brand", "category", "department")
DIMENSIONS_OF = {
    "revenue": ITEM, "items_sold": ITEM, "gross_margin": ITEM, "orders": USER, "aov": USER,
    "buyers": USER, "cancellation_rate": USER, "all_orders": USER, "cancelled_orders": USER,
    "new_users": USER, "sessions": ("browser", "traffic_source"),
}  # fmt: skip
VALUES = {
    "country": (
        "Australia", "Austria", "Belgium", "Brasil", "China", "Colombia", "France", "Germany",
        "Japan", "Poland", "South Korea", "Spain", "United Kingdom", "United States",
    ),
    "category": (
        "Accessories", "Active", "Blazers & Jackets", "Dresses", "Fashion Hoodies & Sweatshirts",
        "Intimates", "Jeans", "Jumpsuits & Rompers", "Leggings", "Maternity",
        "Outerwear & Coats", "Pants", "Shorts", "Skirts", "Sleep & Lounge", "Socks",
        "Suits & Sport Coats", "Sweaters", "Swim", "Tops & Tees", "Underwear",
    ),
    "brand": ("Adidas", "Calvin Klein", "Carhartt", "Levi's", "Nike", "Patagonia", "Speedo"),
    "department": ("Men", "Women"),
    "gender": ("F", "M"),
    "age_band": ("25-34", "35-44", "45-54", "55+", "under 25"),
    "traffic_source": ("Adwords", "Display", "Email", "Facebook", "Organic", "Search", "YouTube"),
    "browser": ("Chrome", "Firefox", "IE", "Other", "Safari"),
}  # fmt: skip
EXPERIMENTS = (
    "bundle_discount", "checkout_cautious_rollout", "checkout_redesign", "homepage_copy_aa",
    "pricing_page_abn", "recs_widget_srm",
)  # fmt: skip


def yaml_vocabulary() -> Vocabulary:
    declared = yaml.safe_load(METRICS_YAML.read_text())["metrics"]
    metrics = []
    for m in declared:
        meta = dict(m.get("config", {}).get("meta", {}))
        metrics.append(
            MetricInfo(
                m["name"], m["label"], m["description"], meta.get("restricted") is True,
                m["type"] == "simple", m["type"], tuple(sorted(DIMENSIONS_OF[m["name"]])),
                str(meta.get("unit", "")), meta,
            )
        )  # fmt: skip
    dims = [
        DimensionInfo(d, d.replace("_", " ").capitalize(), "")
        for d in sorted({d for ds in DIMENSIONS_OF.values() for d in ds})
    ]
    return Vocabulary.of(metrics, dims, VALUES, EXPERIMENTS)
