"""Write an eval run: `results.json`, `report.md` (metrics as rows, configuration and split as
columns, dev beside test) and PNG charts."""

from __future__ import annotations

import json
from pathlib import Path

from eval.run import KIND_KEYS, LATENCY_KEYS, LOWER_IS_BETTER, QUALITY_KEYS

# Published nDCG@10 on BEIR SciFact, shown beside our figures.
PUBLISHED = {"scifact": {"BM25 (BEIR paper)": 0.665, "all-MiniLM-L6-v2": 0.645, "bge-small-en-v1.5": 0.713},
             "nfcorpus": {"BM25 (BEIR paper)": 0.325}}
GAP_KEYS = ("hit@1", "hit@5", "mrr@10", "answer_evidence", "first_sentence_evidence")
COUNT_KEYS = ("echo_sentences", "fragments", "false_abstentions")  # shown as whole numbers


def splits(results: dict) -> list[str]:
    return list(results["configs"][0].get("splits") or {"all": None})


def metric_rows(results: dict) -> list[str]:
    present = set()
    for config in results["configs"]:
        for figures in (config.get("splits") or {"all": config["metrics"]}).values():
            present |= set(figures)
    return [k for k in (*QUALITY_KEYS, *COUNT_KEYS, *LATENCY_KEYS) if k in present]


def table(results: dict) -> list[list[str]]:
    """Header row, then one row per metric: a column per (configuration, split), and a "dev − test"
    column per configuration when both splits are there (a large gap is tuning to dev)."""
    names = splits(results)
    gap = {"dev", "test"} <= set(names)
    several = len(results["configs"]) > 1
    header = ["metric"]
    for config in results["configs"]:
        if names == ["all"]:  # one set, no splits: the configuration names the column
            header.append(config["name"] if several else "value")
            continue
        prefix = f"{config['name']} · " if several else ""
        header += [f"{prefix}{s}" for s in names] + ([f"{prefix}dev − test"] if gap else [])
    rows = [header]
    for key in metric_rows(results):
        row = [key]
        best = {s: _best(key, [(c.get("splits") or {"all": c["metrics"]}).get(s, {}).get(key)
                               for c in results["configs"]]) for s in names} if several else {}
        for config in results["configs"]:
            by_split = config.get("splits") or {"all": config["metrics"]}
            for s in names:
                value = by_split.get(s, {}).get(key)
                text = _format(key, value)
                row.append(f"**{text}**" if value is not None and value == best.get(s) else text)
            if gap:
                dev, test = by_split["dev"].get(key), by_split["test"].get(key)
                row.append(f"{dev - test:+.3f}" if key in GAP_KEYS and None not in (dev, test) else "")
        rows.append(row)
    return rows


def kind_table(config: dict) -> list[list[str]]:
    """Per kind of question: cells are "dev / test" (or the one split), the count first."""
    kinds = config.get("kinds") or {}
    names = list(kinds)
    if not names:
        return []
    labels = sorted({k for split in kinds.values() for k in split})
    header = ["kind", "n", *KIND_KEYS]
    rows = [header]
    for label in labels:
        cells = [label, " / ".join(str(kinds[s].get(label, {}).get("n", 0)) for s in names)]
        for key in KIND_KEYS:
            values = [kinds[s].get(label, {}).get(key) for s in names]
            cells.append("" if all(v is None for v in values) else " / ".join(_format(key, v) for v in values))
        rows.append(cells)
    return rows


def markdown(results: dict, command: str | None = None) -> str:
    names = splits(results)
    counts = {s: sum(1 for r in results["configs"][0]["per_case"] if r.get("split", "all") == s) for s in names}
    lines = [f"# Eval: {results['dataset']}", ""]
    sizes = ", ".join(f"{s} {n}" for s, n in counts.items()) if len(names) > 1 else f"{results['cases']}"
    lines.append(f"{results['cases']} cases ({sizes}); corpus `{results['corpus']}`."
                 + (" Best value per row and split in bold." if len(results["configs"]) > 1 else ""))
    if "dev" in names and "test" in names:
        lines.append("Tune on dev; test is for reporting only.")
    if command:
        lines += ["", f"Command: `{command}`"]
    lines += ["", *_markdown_table(table(results))]
    for config in results["configs"]:
        kinds = kind_table(config)
        if kinds:
            split_names = " / ".join(config["kinds"])
            lines += ["", f"## By kind of question: {config['name']} ({split_names})", "", *_markdown_table(kinds)]
        echoes = [(r["id"], e) for r in config["per_case"] for e in r.get("echoes", [])]
        if echoes:
            lines += ["", f"Answer sentences that answer nothing ({config['name']}):", ""]
            lines += [f"- {case} ({e['kind']}): {e['text']}" for case, e in echoes[:20]]
        fragments = [(r["id"], f) for r in config["per_case"] for f in r.get("fragments", [])]
        if fragments:
            lines += ["", f"Quotes that start or stop inside a sentence ({config['name']}):", ""]
            lines += [f"- {case} (cut at the {f['kind']}): {' '.join(f['text'].split())}" for case, f in fragments[:20]]
    published = PUBLISHED.get(results["dataset"].lower())
    if published and any("ndcg@10" in c["metrics"] for c in results["configs"]):
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


def plain(results: dict) -> str:
    """The main table for a terminal."""
    return "\n".join(_markdown_table(table(results)))


def differing_settings(results: dict) -> dict[str, dict]:
    """Per configuration, only the settings that differ between configurations."""
    configs = results["configs"]
    keys = sorted(set().union(*(c["settings"] for c in configs)))
    differ = [k for k in keys if len({json.dumps(c["settings"].get(k)) for c in configs}) > 1]
    return {c["name"]: {k: c["settings"].get(k) for k in differ} for c in configs}


def charts(results: dict, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = [(c["name"], s, (c.get("splits") or {"all": c["metrics"]})[s])
               for c in results["configs"] for s in splits(results)]
    labels = [name if split == "all" else f"{name} · {split}" for name, split, _ in columns]
    written = []
    for filename, keys, ylabel in (("quality.png", QUALITY_KEYS, "score"), ("latency.png", LATENCY_KEYS, "ms")):
        keys = [k for k in keys if any(figures.get(k) is not None for *_, figures in columns)]
        fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(keys) * max(1, len(columns)) / 2 + 3), 4))
        width = 0.8 / max(1, len(columns))
        for i, (label, (*_, figures)) in enumerate(zip(labels, columns)):
            values = [figures.get(k) or 0 for k in keys]
            ax.bar([x + i * width for x in range(len(keys))], values, width, label=label)
        ax.set_xticks([x + width * (len(columns) - 1) / 2 for x in range(len(keys))], keys, rotation=20)
        ax.set_ylabel(ylabel)
        if ylabel == "score":
            ax.set_ylim(0, 1.05)
        kind = "quality" if ylabel == "score" else "latency"
        ax.set_title(f"{results['dataset']}: {kind} by configuration and split")
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


def _best(key: str, values: list):
    present = [v for v in values if v is not None]
    if not present or key in COUNT_KEYS or len(set(present)) == 1:
        return None  # nothing to single out
    return min(present) if key in LATENCY_KEYS or key in LOWER_IS_BETTER else max(present)


def _format(key: str, value) -> str:
    if value is None:
        return "–"
    if key in COUNT_KEYS or key in ("n", "answer_sentences", "unanswerable", "cases"):
        return str(value)
    return f"{value:.1f}" if key in LATENCY_KEYS else f"{value:.3f}"


def _markdown_table(rows: list[list[str]]) -> list[str]:
    if not rows:
        return []
    return ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0]),
            *("| " + " | ".join(row) + " |" for row in rows[1:])]

