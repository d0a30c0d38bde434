"""Crawl health as a chart drawn on the server: a row of bars per count, a mark per drift alarm."""

from __future__ import annotations

from typing import Any

from storage.health import RunSummary

# crawler/drift.py's DriftReport.message() opens the note of a run that raised the alarm.
DRIFT_NOTE = "layout drift?"
SERIES = (
    ("new_articles", "new"),
    ("new_versions", "changed"),
    ("deleted", "deleted"),
    ("restored", "restored"),
    ("touched", "touched"),
    ("failed", "failed"),
    ("not_modified", "not modified"),
)
WIDTH = 720
LABEL_WIDTH = 100
ROW_HEIGHT = 36
ROW_GAP = 8
TOP = 16


def is_drift(run: RunSummary) -> bool:
    return DRIFT_NOTE in (run.note or "")


def chart(runs: list[RunSummary], kst_day: Any) -> dict[str, Any]:
    """Geometry of the chart: each series scaled to its own largest run, so that a rare count
    (deletions, failures) shows beside the thousands of not-modified answers."""
    plot = WIDTH - LABEL_WIDTH
    step = plot / max(len(runs), 1)
    bar = max(step * 0.8, 1.0)
    series = []
    for row, (name, label) in enumerate(SERIES):
        values = [getattr(run, name) for run in runs]
        top = max(values, default=0)
        base = TOP + row * (ROW_HEIGHT + ROW_GAP) + ROW_HEIGHT
        bars = []
        for index, (run, value) in enumerate(zip(runs, values, strict=True)):
            height = ROW_HEIGHT * value / top if top else 0.0
            bars.append({
                "x": round(LABEL_WIDTH + index * step, 1),
                "y": round(base - height, 1),
                "width": round(bar, 1),
                "height": round(height, 1),
                "title": f"run {run.crawl_run_id}, {kst_day(run.started_at)}: {value} {label}",
            })
        series.append({
            "name": name, "label": label, "max": top, "y": base, "label_y": base - ROW_HEIGHT / 2,
            "bars": bars,
        })
    height = TOP + len(SERIES) * (ROW_HEIGHT + ROW_GAP)
    drift = [
        {
            "x": round(LABEL_WIDTH + index * step + bar / 2, 1),
            "title": f"run {run.crawl_run_id}: {run.note}",
        }
        for index, run in enumerate(runs)
        if is_drift(run)
    ]
    return {"width": WIDTH, "height": height, "label_x": LABEL_WIDTH - 6, "series": series,
            "drift": drift, "bottom": height - ROW_GAP}
