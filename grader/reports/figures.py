"""Pictures for the HTML reports (a student's, the class summary), drawn in the grader's process
from plain data (never from anything the student's kernel sent as code): matplotlib with the Agg
backend, PNG as a data URI, so each report stays one self-contained file."""

from __future__ import annotations

import base64
import io
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (the backend is chosen first)
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from grader.reports.catalog import Catalog  # noqa: E402
from grader.trusted.results import Figure  # noqa: E402

_DPI = 80


def render_figure(figure: Figure, catalog: Catalog) -> dict[str, str] | None:
    """{"data_uri", "caption"}, or None when the data cannot be drawn."""
    draw = _DRAWERS.get(figure.kind)
    if draw is None:
        return None
    try:
        fig = draw(figure.data, catalog)
    except (KeyError, TypeError, ValueError):
        return None
    return {"data_uri": _data_uri(fig), "caption": catalog.text(f"figures.{figure.kind}")}


def score_histogram(counts: list[int], catalog: Catalog) -> dict[str, str]:
    """The class's scores in bins of 10 % of the maximum (``counts[i]`` for [10i, 10i + 10),
    the last bin closed), as {"data_uri", "caption"}."""
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar([10 * i + 5 for i in range(len(counts))], counts, width=9, color="#1a73e8")
    ax.set_xlim(0, 10 * len(counts))
    ax.set_xticks(range(0, 10 * len(counts) + 1, 10))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts of students: no 1.5 ticks
    ax.set_xlabel(catalog.text("summary.histogram_x"))
    ax.set_ylabel(catalog.text("summary.histogram_y"))
    ax.grid(axis="y", alpha=0.3)
    return {"data_uri": _data_uri(fig), "caption": catalog.text("summary.histogram_caption")}


def _data_uri(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _decision_boundary(data: dict, catalog: Catalog):
    low, high, n = float(data["low"]), float(data["high"]), int(data["n"])
    probabilities = np.asarray(data["probabilities"], dtype=float).reshape(n, n)
    points = np.asarray(data["points"], dtype=float).reshape(-1, 2)
    labels = np.asarray(data["labels"], dtype=int).reshape(-1)
    axis = np.linspace(low, high, n)
    fig, ax = plt.subplots(figsize=(5, 4.4))
    shade = ax.contourf(axis, axis, probabilities, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.55)
    ax.contour(axis, axis, probabilities, levels=[0.5], colors="black", linewidths=1.5)
    for label, colour, marker in ((0, "#1f4e9c", "o"), (1, "#b3261e", "^")):
        chosen = points[labels == label]
        ax.scatter(chosen[:, 0], chosen[:, 1], s=12, c=colour, marker=marker, edgecolors="white",
                   linewidths=0.4, label=catalog.text("figures.class", label=label))
    fig.colorbar(shade, ax=ax, label=catalog.text("figures.probability"))
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(catalog.text("figures.accuracy", accuracy=data["accuracy"]))
    ax.legend(loc="upper center", fontsize=8, ncol=2)
    return fig


def _loss_curves(data: dict, catalog: Catalog):
    fig, ax = plt.subplots(figsize=(6, 3.4))
    many = max(len(data["student"]), len(data["reference"])) > 100
    marker = {} if many else dict(marker="o", markersize=3)
    for key, style in (("reference", dict(color="#5f6368", linestyle="--", linewidth=1.5 if many else 2)),
                       ("student", dict(color="#b3261e", linewidth=1 if many else 1.5, **marker))):
        values = [float(v) for v in data[key]]
        if values:
            ax.plot(range(1, len(values) + 1), values, label=catalog.text(f"figures.{key}"), **style)
    ax.set_xlabel(catalog.text("figures.batch"))
    ax.set_ylabel(catalog.text("figures.loss"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def _gradient_errors(data: dict, catalog: Catalog):
    # A case is its number, layer sizes and batch, labelled by the catalog (a label as text: a
    # result of an earlier version).
    rows = [catalog.formatted("figures.gradient_case", {k: row.get(k, "?") for k in ("case", "sizes", "batch")})
            if isinstance(row, dict) else str(row) for row in data["cases"]]
    columns = list(data["parameters"])
    errors = np.array([[math.nan if v is None else float(v) for v in row] for row in data["errors"]], dtype=float)
    shown = np.log10(np.clip(errors, 1e-16, 1e3))
    fig, ax = plt.subplots(figsize=(1.2 * len(columns) + 2.5, 0.45 * len(rows) + 1.4))
    image = ax.imshow(np.ma.masked_invalid(shown), cmap="RdYlGn_r", vmin=-16, vmax=1, aspect="auto")
    ax.set_xticks(range(len(columns)), columns)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    for i in range(len(rows)):
        for j in range(len(columns)):
            text = "—" if math.isnan(errors[i, j]) else f"{errors[i, j]:.0e}"
            ax.text(j, i, text, ha="center", va="center", fontsize=7)
    fig.colorbar(image, ax=ax, label=catalog.text("figures.log_error"))
    return fig


_DRAWERS = {"decision_boundary": _decision_boundary, "loss_curves": _loss_curves, "training_loss": _loss_curves,
            "gradient_errors": _gradient_errors}
