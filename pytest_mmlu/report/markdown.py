"""A run's summary as GitHub-flavoured Markdown (`--mmlu-markdown`, `$GITHUB_STEP_SUMMARY`)."""

from __future__ import annotations

import os
from pathlib import Path

from .usage import render_cost, render_usage

NEWLY_WRONG_SHOWN = 50  # beyond this, the list says how many more


def cell(text) -> str:
    """Text fit for a table cell: pipes escaped, no line breaks."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def accuracy_cell(correct: int, total: int) -> str:
    """`40.00% (40/100)`: the layout people publish."""
    return f"{correct / total * 100:.2f}% ({correct}/{total})" if total else "n/a (0/0)"


def interval_cell(low: float, high: float) -> str:
    return f"{low * 100:.1f}–{high * 100:.1f}%"


def _table(title: str, tallies: dict, orders: bool = False) -> list[str]:
    """One row per scope; with --mmlu-permute (`orders`), the accuracy in the data's own order and the consistency."""
    extra = " Own order | Consistent |" if orders else ""
    lines = [f"| {title} | Accuracy | 95% interval | Unparsed | Errors | Not run |{extra}",
             "| --- | ---: | ---: | ---: | ---: | ---: |" + (" ---: | ---: |" if orders else "")]
    for name, t in tallies.items():
        ci = interval_cell(*t.interval) if t.scored else "n/a"
        row = (f"| {cell(name)} | {accuracy_cell(t.correct, t.scored)} | {ci} | {t.unparsed} | {t.errors} "
               f"| {t.not_run} |")
        if orders:
            row += f" {accuracy_cell(t.original_correct, t.permuted)} | {accuracy_cell(t.consistent, t.permuted)} |"
        lines.append(row)
    return lines


def _describe(config: dict) -> str:
    parts = [f"backend `{config.get('backend')}`"]
    model = config.get("served_model") or config.get("model")
    if model:
        parts.append(f"model `{model}`")
    revision = f" @ `{config['revision']}`" if config.get("revision") else ""
    parts.append(f"dataset `{config.get('dataset')}`{revision}")
    parts += [f"split `{config.get('split')}`", f"{config.get('shots', 0)}-shot",
              f"scoring `{config.get('scoring')}`", f"prompt `{config.get('prompt')}`"]
    if config.get("limit"):
        parts.append(f"limit {config['limit']} per subject")
    return ", ".join(parts)


def render_markdown(summary, verdicts=(), comparison=None, label: str | None = None, config: dict | None = None) -> str:
    o = summary.overall
    lines = [f"## MMLU: {cell(label)}" if label else "## MMLU results", ""]
    if config:
        lines += [_describe(config), ""]
    orders = bool(o.permuted)
    lines += _table("Subject", summary.subjects, orders) + [""]
    lines += _table("Category", summary.categories, orders) + [""]
    average = summary.subject_average
    lines += [f"**Overall**: {accuracy_cell(o.correct, o.scored)} question-weighted"
              + (f", {interval_cell(*o.interval)} 95% interval" if o.scored else "")
              + (f"; {average * 100:.2f}% subject-averaged" if average is not None else ""),
              "",
              f"Questions: {o.selected} selected, {o.correct} correct, {o.wrong} wrong, {o.unparsed} unparsed, "
              f"{o.errors} errors (not counted as wrong), {o.not_run} not run.", ""]
    if orders:
        lines += [f"Asked in several orders of their choices (`--mmlu-permute`): {o.permuted} questions; accuracy "
                  f"counts a question right only in every order; own order: "
                  f"{accuracy_cell(o.original_correct, o.permuted)}; the same choice in every order: "
                  f"{accuracy_cell(o.consistent, o.permuted)}.", ""]
    usage = render_usage(summary.usage)
    if usage:  # tokens and time: the summary's line, as a sentence
        lines += [f"Usage: {usage.removeprefix('usage: ')}.", ""]
    cost = render_cost(summary.usage)
    if cost:
        lines += [f"Cost: {cost.removeprefix('cost: ')}.", ""]
    lines += _bias(summary.bias)
    if summary.calibration is not None:
        lines += _calibration(summary.calibration, summary.subject_calibration)
    if verdicts:
        lines += ["### Gates", "", "| Gate | Verdict | Detail |", "| --- | --- | --- |"]
        lines += [f"| `{cell(v.gate.describe())}` | {'✅ PASS' if v.holds else '❌ FAIL'} | {cell(v.reason)} |"
                  for v in verdicts]
        lines.append("")
    if comparison is not None:
        lines += ["### Compared with the baseline", ""] + _comparison(comparison)
    return "\n".join(lines).rstrip("\n") + "\n"


def _comparison(c) -> list[str]:
    if not c.common:
        return ["No question was answered in both runs.", ""]
    lines = [f"{c.baseline_correct / c.common * 100:.2f}% → {c.current_correct / c.common * 100:.2f}% "
             f"(**{c.delta * 100:+.2f} points**) on the {c.common} questions answered in both runs; "
             f"{len(c.newly_wrong)} newly wrong, {len(c.newly_right)} newly right, McNemar exact p = {c.p_value:.3g}. "
             f"{c.letter_changes.describe()}.", ""]
    left_out = [(c.only_in_baseline, "only in the baseline"), (c.only_in_current, "only in this run"),
                (c.errors_excluded, "left out for errors"),
                (c.mismatched, "left out: another question under the same node id")]
    if any(n for n, _ in left_out):
        lines += ["Not compared: " + ", ".join(f"{n} {what}" for n, what in left_out if n) + ".", ""]
    subjects = {s: p for s, p in c.scopes.items() if s in c.subject_deltas}
    changed = [(p.delta, s, p) for s, p in subjects.items() if p.newly_wrong or p.newly_right]
    if changed:
        lines += ["| Subject | Baseline | This run | Change | Newly wrong | Newly right | McNemar p |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        lines += [f"| {cell(s)} | {accuracy_cell(p.baseline_correct, p.common)} | "
                  f"{accuracy_cell(p.current_correct, p.common)} | {d * 100:+.2f} | {p.newly_wrong} | "
                  f"{p.newly_right} | {p.p_value:.3g} |" for d, s, p in sorted(changed, key=lambda x: (x[0], x[1]))]
        lines.append("")
    if c.newly_wrong:
        shown = c.newly_wrong[:NEWLY_WRONG_SHOWN]
        lines += [f"<details><summary>{len(c.newly_wrong)} newly wrong questions</summary>", ""]
        lines += [f"- `{nodeid}`" for nodeid in shown]
        if len(c.newly_wrong) > len(shown):
            lines.append(f"- ... and {len(c.newly_wrong) - len(shown)} more")
        lines += ["", "</details>", ""]
    return lines


def write_markdown(path, text: str) -> None:
    """The summary written to `path`, and appended to $GITHUB_STEP_SUMMARY when that is set (GitHub Actions)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as f:
            f.write(text + "\n")


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def _bias(bias) -> list[str]:
    """Position bias: one row per letter; the imbalance under the table."""
    if not bias.questions:
        return []
    answered = bias.answered or 1
    lines = ["### Position bias", "",
             "| Letter | Picked | Right answer | Accuracy when right | Wrong answers picked | Even share | Ratio |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for x in bias.letters:
        position = bias.by_position.get(x)
        ratio = bias.imbalance_of(x)
        accuracy = accuracy_cell(position.correct, position.total) if position else "n/a (0/0)"
        lines.append(f"| {x} | {bias.predicted.get(x, 0) / answered * 100:.1f}% | "
                     f"{bias.expected.get(x, 0) / answered * 100:.1f}% | {accuracy} | {bias.wrong_picks.get(x, 0)} | "
                     f"{bias.wrong_even.get(x, 0.0):.1f} | {'n/a' if ratio is None else f'{ratio:.2f}'} |")
    imbalance = bias.imbalance
    lines.append("")
    if imbalance is None:
        lines.append(f"Imbalance: n/a (no wrong answer among the {bias.answered} answered questions).")
    else:
        lines.append(f"Imbalance: **{imbalance[1]:.2f}** ({imbalance[0]} took {imbalance[1]:.2f}x its even share of "
                     f"the {bias.wrong} wrong answers; 1.00: no preference). Shares are of the {bias.answered} "
                     f"questions where a letter was read.")
    return lines + [""]


def _calibration(overall, subjects: dict) -> list[str]:
    lines = ["### Calibration", "", f"From the log-probabilities of each question's letters "
             f"({overall.questions} questions" + (f"; {overall.letters_missing} with a letter missing from the top "
                                                  f"tokens" if overall.letters_missing else "") + ").", "",
             "| Scope | Questions | Accuracy | Mean confidence | ECE (10 bins) | Brier |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, c in [("overall", overall)] + list(subjects.items()):
        lines.append(f"| {cell(name)} | {c.questions} | {_percent(c.accuracy)} | {_percent(c.confidence)} | "
                     f"{c.ece:.3f} | {c.brier:.3f} |")
    return lines + [""]
