"""A run that a fault ended (a rejected key, every server gone), as the controller sees it from the question
records: what stopped it, how much was answered, and the one block that says so."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.errors import BUDGET, KEY, headline


@dataclass
class StopReport:
    """The controller's view of a run that a fault ended, from the question records."""

    kind: str
    backend: str
    where: str
    reason: str
    answered: int  # replies received from the backend in this run
    not_asked: int  # selected questions without an answer: re-running asks exactly these


def find_stop(records, selected: int) -> StopReport | None:
    stops = [r["fault"] for r in records if r.get("fault")]
    if not stops:
        return None
    first = next((f for f in stops if f["kind"] == KEY), stops[0])  # a rejected key outranks the rest
    answered = sum(1 for r in records if r["outcome"] in ("passed", "failed") and not r.get("cached"))
    scored = sum(1 for r in records if r["outcome"] in ("passed", "failed"))
    return StopReport(first["kind"], first["backend"], first["where"], first["reason"], answered,
                      selected - scored)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def stop_block(stop: StopReport, key_env: str | None) -> list[str]:
    asked = f"{stop.not_asked} questions were not asked; run the same command again to ask only those"
    if stop.kind == BUDGET:
        return [f"{headline(stop.kind, stop.backend, stop.where, stop.reason)}; {_n(stop.answered, 'answer')} "
                f"kept and scored", f"{_n(stop.not_asked, 'question')} {'was' if stop.not_asked == 1 else 'were'} "
                f"not asked; run the same command again with a larger --mmlu-budget (it counts anew) to ask only "
                f"{'that one' if stop.not_asked == 1 else 'those'}"]
    if stop.kind == KEY:
        fix = f"set a valid {key_env}, then " if key_env else "fix the key, then "
        return [f"{headline(stop.kind, stop.backend, stop.where, stop.reason)}; "
                f"{stop.answered} answers kept", f"{stop.not_asked} questions were not asked; {fix}"
                f"run the same command again to ask only those"]
    return [f"the {stop.backend} backend at {stop.where} went away after {stop.answered} answers "
            f"({stop.reason}); {asked}"]
