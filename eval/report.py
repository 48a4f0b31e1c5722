"""Write an eval run: `results.json`, `report.md` (one table, best marked) and PNG charts."""

from __future__ import annotations

import json
from pathlib import Path

from eval.run import LATENCY_KEYS, QUALITY_KEYS

# Published nDCG@10 on BEIR SciFact, shown beside our figures.
PUBLISHED = {"scifact": {"BM25 (BEIR paper)": 0.665, "all-MiniLM-L6-v2": 0.645, "bge-small-en-v1.5": 0.713}}


def columns(results: dict) -> list[str]:
    present = set().union(*(r["metrics"] for r in results["configs"]))
    return [k for k in (*QUALITY_KEYS, *LATENCY_KEYS) if k in present]


def differing_settings(results: dict) -> dict[str, dict]:
    """Per configuration, only the settings that differ between configurations."""
    configs = results["configs"]
    keys = sorted(set().union(*(c["settings"] for c in configs)))
    differ = [k for k in keys if len({json.dumps(c["settings"].get(k)) for c in configs}) > 1]
    return {c["name"]: {k: c["settings"].get(k) for k in differ} for c in configs}


def markdown(results: dict, command: str | None = None) -> str:
    cols = columns(results)
    best = {}
    for col in cols:
        values = [c["metrics"].get(col) for c in results["configs"] if c["metrics"].get(col) is not None]
        if values:
            best[col] = min(values) if col in LATENCY_KEYS or col == "false_abstention_rate" else max(values)
    lines = [f"# Eval: {results['dataset']}", ""]
    lines.append(f"{results['cases']} cases; corpus `{results['corpus']}`. Best value per column in bold.")
    if command:
        lines += ["", f"Command: `{command}`"]
    lines += ["", "| config | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for config in results["configs"]:
        cells = []
        for col in cols:
            value = config["metrics"].get(col)
            text = "–" if value is None else (f"{value:.1f}" if col in LATENCY_KEYS else f"{value:.3f}")
            cells.append(f"**{text}**" if value is not None and len(results["configs"]) > 1 and value == best[col] else text)
        lines.append(f"| {config['name']} | " + " | ".join(cells) + " |")
    published = PUBLISHED.get(results["dataset"].lower())
    if published and "ndcg@10" in cols:
        lines += ["", "Published nDCG@10 for reference: " + "; ".join(f"{k} {v:.3f}" for k, v in published.items()) + "."]
    diffs = differing_settings(results)
    if any(diffs.values()):
        lines += ["", "Settings that differ:", ""]
        for name, settings in diffs.items():
            lines.append(f"- **{name}**: " + ", ".join(f"`{k}={v}`" for k, v in settings.items()))
    shared = results["configs"][0]["settings"]
    lines += ["", "Other settings (shared): " + ", ".join(
        f"`{k}={v}`" for k, v in sorted(shared.items()) if k not in next(iter(diffs.values()), {})) + "."]
    lines += ["", "![quality](quality.png)", "", "![latency](latency.png)", ""]
    return "\n".join(lines)


def charts(results: dict, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [c["name"] for c in results["configs"]]
    written = []
    for filename, keys, ylabel in (("quality.png", QUALITY_KEYS, "score"), ("latency.png", LATENCY_KEYS, "ms")):
        keys = [k for k in keys if any(c["metrics"].get(k) is not None for c in results["configs"])]
        fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(keys) * max(1, len(names)) / 2 + 3), 4))
        width = 0.8 / max(1, len(names))
        for i, config in enumerate(results["configs"]):
            values = [config["metrics"].get(k) or 0 for k in keys]
            ax.bar([x + i * width for x in range(len(keys))], values, width, label=config["name"])
        ax.set_xticks([x + width * (len(names) - 1) / 2 for x in range(len(keys))], keys, rotation=20)
        ax.set_ylabel(ylabel)
        if ylabel == "score":
            ax.set_ylim(0, 1.05)
        ax.set_title(f"{results['dataset']}: {'quality' if ylabel == 'score' else 'retrieval latency'} by configuration")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / filename, dpi=110)
        plt.close(fig)
        written.append(out / filename)
    return written


def write(results: dict, out: Path, command: str | None = None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    (out / "report.md").write_text(markdown(results, command))
    return [out / "results.json", out / "report.md", *charts(results, out)]
