"""`pytest-mmlu merge`: the reports of one run's shards (--mmlu-shard), or of runs over questions that do not
overlap, joined into the question records and configuration of one run.

No number is joined here: the caller summarises the joined records with summary.summarize, as the plugin does
at the end of a run, so the merged report's figures are those of one run over the same questions."""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Sequence

from ..core.errors import MergeError
from ..core.shard import Shard, parse_shard
from .schema import ReadReport, Record

# what makes two reports parts of one run; base URLs, start and wall time may differ from machine to machine
SAME = ("backend", "model", "served_model", "dataset", "revision", "split", "shots", "limit", "scoring",
        "logprob_route", "prompt", "max_tokens", "temperature", "language", "judge", "permute")
JUDGE_SAME = ("backend", "model", "served_model")  # the judge's address may differ too
SHOWN = 3  # node ids named in a refusal


@dataclass
class Joined:
    """The records and configuration of the one run the reports are parts of."""

    records: list[Record]
    not_run: list[str]  # in the run's order, as the plugin lists them
    config: dict
    shots: dict[str, str] = field(default_factory=dict)
    parts: list[dict] = field(default_factory=list)  # per report: path, shard, questions, not_run, started, wall

    @property
    def selected(self) -> list[str]:
        return [r["nodeid"] for r in self.records] + self.not_run


def join(reports: Sequence[ReadReport]) -> Joined:
    """The reports as one run; MergeError (one line, naming the files) when they are not parts of one run."""
    if not reports:
        raise MergeError("no report to merge")
    shards = _shards(reports)
    if shards:  # shard 1 first: its configuration is the run's
        reports = [r for _, r in sorted(zip(shards, reports), key=lambda pair: pair[0])]
    _same_run(reports, sharded=bool(shards))
    _no_overlap(reports)
    records = [q for r in reports for q in r.data["questions"]]
    not_run = sorted((n for r in reports for n in r.data.get("not_run") or ()), key=_run_order)
    shots: dict[str, str] = {}
    for r in reports:
        shots.update(r.data.get("shots") or {})
    return Joined(records, not_run, _config(reports), shots, [_part(r) for r in reports])


# -- the checks ---------------------------------------------------------------------------------------------


def _shards(reports: Sequence[ReadReport]) -> list[Shard]:
    """Each report's shard, checked to be one whole set 1..N; [] for reports written without --mmlu-shard."""
    shards: list[Shard | None] = []
    for r in reports:
        raw = r.config.get("shard")
        try:
            shards.append(parse_shard(raw) if raw is not None else None)
        except argparse.ArgumentTypeError:
            raise MergeError(f"{r.path}: its shard {raw!r} is not K/N") from None
    with_shard = [(s, r) for s, r in zip(shards, reports) if s is not None]
    if not with_shard:
        return []
    if len(with_shard) < len(reports):
        without = next(r for s, r in zip(shards, reports) if s is None)
        shard, report = with_shard[0]
        raise MergeError(f"{report.path} is shard {shard} and {without.path} was written without --mmlu-shard: "
                         f"merge the shards of one run, or reports written without --mmlu-shard")
    first, first_report = with_shard[0]
    for shard, report in with_shard[1:]:
        if shard.count != first.count:
            raise MergeError(f"{first_report.path} is shard {first} and {report.path} shard {shard}: the shards "
                             f"of one run are K/N with the same N")
    seen: dict[Shard, ReadReport] = {}
    for shard, report in with_shard:
        if shard in seen:
            raise MergeError(f"shard {shard} is given twice: {seen[shard].path} and {report.path}")
        seen[shard] = report
    missing = [str(Shard(k, first.count)) for k in range(1, first.count + 1) if Shard(k, first.count) not in seen]
    if missing:
        what = f"shard {missing[0]} is" if len(missing) == 1 else \
            f"shards {', '.join(missing[:-1])} and {missing[-1]} are"
        given = ", ".join(f"{r.path} ({s})" for s, r in sorted(seen.items()))
        raise MergeError(f"{what} missing (given: {given})")
    return [s for s in shards if s is not None]


def _comparable(config: dict, key: str):
    value = config.get(key)
    if key == "judge" and isinstance(value, dict):
        return {k: value.get(k) for k in JUDGE_SAME}
    return value


def _same_run(reports: Sequence[ReadReport], sharded: bool) -> None:
    """The same configuration; shards also the same selection of subjects (they split one selection)."""
    keys = SAME + (("subjects",) if sharded else ())
    first = reports[0]
    for other in reports[1:]:
        differ = [f"{key} {_comparable(first.config, key)!r} vs {_comparable(other.config, key)!r}" for key in keys
                  if _comparable(first.config, key) != _comparable(other.config, key)]
        if differ:
            raise MergeError(f"{first.path} and {other.path} are not parts of one run: {'; '.join(differ)}")


def _no_overlap(reports: Sequence[ReadReport]) -> None:
    """No question (asked or not run) in two reports."""
    owner: dict[str, ReadReport] = {}
    for report in reports:
        nodeids = [q["nodeid"] for q in report.data["questions"]] + list(report.data.get("not_run") or ())
        shared: dict[str, list[str]] = {}
        for nodeid in nodeids:
            if nodeid in owner:
                shared.setdefault(owner[nodeid].path, []).append(nodeid)
        if shared:
            path, both = next(iter(shared.items()))
            more = f" and {len(both) - SHOWN} more" if len(both) > SHOWN else ""
            raise MergeError(f"{path} and {report.path} hold the same questions ({', '.join(both[:SHOWN])}{more}): "
                             f"each question must be in one report only")
        owner.update(dict.fromkeys(nodeids, report))


# -- the run they make --------------------------------------------------------------------------------------


def _config(reports: Sequence[ReadReport]) -> dict:
    """The first report's configuration, with what differs between machines joined."""
    config = dict(reports[0].config)
    config["shard"] = None  # the merged report is the whole run
    config["categories"] = {s: c for r in reports for s, c in sorted((r.config.get("categories") or {}).items())}
    config["subjects"] = list(dict.fromkeys(s for r in reports for s in r.config.get("subjects") or ()))
    config["base_urls"] = list(dict.fromkeys(u for r in reports for u in r.config.get("base_urls") or ()))
    config["interrupted"] = any(bool(r.config.get("interrupted")) for r in reports)
    starts = [r.config["started"] for r in reports if r.config.get("started")]
    config["started"] = min(starts) if starts else None
    config["wall_seconds"] = span(reports)  # each part's own is in the report's `merged`
    return config


def span(reports: Sequence[ReadReport]) -> float | None:
    """Seconds from the first part's start to the last part's end (they may have run side by side); None where a
    part does not say when it started or how long it ran."""
    times = []
    for r in reports:
        try:
            start = datetime.fromisoformat(str(r.config["started"]))
            times.append((start.timestamp(), start.timestamp() + float(r.config["wall_seconds"])))
        except (KeyError, TypeError, ValueError):
            return None
    if not times:
        return None
    return round(max(end for _, end in times) - min(start for start, _ in times), 3)


def _part(report: ReadReport) -> dict:
    c = report.config
    return {"path": report.path, "shard": c.get("shard"), "questions": len(report.data["questions"]),
            "not_run": len(report.data.get("not_run") or ()), "started": c.get("started"),
            "wall_seconds": c.get("wall_seconds")}


def _run_order(nodeid: str) -> tuple:
    """A run lists its questions by subject, then index: q10000 after q9999."""
    head, _, name = nodeid.rpartition("::")
    number = re.fullmatch(r"q(\d+)", name)
    return (head, int(number.group(1)) if number else -1, name)
