"""The table of pretrained models run through lm-eval (`eval-lm` rows): one line per model and task, its final-answer
accuracy by length (every length out-of-distribution for a pretrained model), its class read from the HF config, and
theory's EXPRESS and verdict. `expressivity table eval-lm` shows it; presets' tables are tables.py's.

    text = render_pretrained(store.rows(), "markdown")   # None when the store has no eval-lm row
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

from expressivity.runners.reports.tables import FORMATS, tex_escape

PRETRAINED = "eval-lm"  # the name `table` shows them under
PRETRAINED_HEADER = ("task", "model", "class", "final acc by length", "final (mean)", "scaled (mean)", "EXPRESS",
                     "verdict")  # fmt: skip


def pretrained_lines(rows: Iterable[Mapping[str, Any]]) -> list[list[str]]:
    """One line per finished eval-lm row (a pretrained model on one task): its accuracy by length, its class read
    from the HF config ("unknown" where the layers map onto no kind) and theory's EXPRESS and verdict."""
    from expressivity.runners.training.config import is_pretrained
    from expressivity.theory import check
    from expressivity.theory.classes import arch_class

    out = []
    for r in rows:
        config = r["config"]
        if not is_pretrained(config) or r["status"] != "done" or not r.get("metrics"):
            continue
        try:
            label = arch_class(config["arch"], config["model_params"]).label.removeprefix(config["arch"]).strip()
        except ValueError:
            label = "unknown"
        cell = check([r])[0]
        ood = (r.get("summary") or {}).get("ood") or {}
        curve = ", ".join(f"{n}: {m['final_acc']:.3f}" for n, m in sorted(r["metrics"].items()))
        task = " ".join([config["task"], *(f"{k}={v}" for k, v in config["task_params"].items())])
        out.append([task, config["arch"], label, curve, f"{ood.get('final_acc', float('nan')):.3f}",
                    f"{ood.get('scaled_acc', float('nan')):.3f}", cell.express.value, cell.verdict])  # fmt: skip
    return out


def render_pretrained(rows: Iterable[Mapping[str, Any]], fmt: str = "markdown") -> str | None:
    """The eval-lm rows as a markdown, CSV or LaTeX table; None when the store has none."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not valid; choose one of {', '.join(FORMATS)}")
    lines = pretrained_lines(rows)
    if not lines:
        return None
    title = "pretrained models through lm-eval (eval-lm): final answer, greedy; every length is out-of-distribution"
    if fmt == "csv":
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows([PRETRAINED_HEADER, *lines])
        return buf.getvalue()
    if fmt == "markdown":
        out = [f"### {PRETRAINED}: {title}", "", "| " + " | ".join(PRETRAINED_HEADER) + " |"]
        out.append("|" + "|".join("---:" if 3 < i < 6 else "---" for i in range(len(PRETRAINED_HEADER))) + "|")
        return "\n".join([*out, *("| " + " | ".join(line) + " |" for line in lines)]) + "\n"
    body = [" & ".join(tex_escape(v) for v in line) + " \\\\" for line in lines]
    head = " & ".join(tex_escape(h) for h in PRETRAINED_HEADER) + " \\\\"
    return "\n".join([f"% {title}", "\\begin{tabular}{llllrrll}", "\\hline", head, "\\hline", *body, "\\hline",
                      "\\end{tabular}"]) + "\n"  # fmt: skip
