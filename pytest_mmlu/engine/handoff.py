"""The xdist hand-off: what the controller learned at start (the served model ids, the servers' slots, whether
the run scores from the cache) that the workers cannot learn, since they do not probe. One dataclass, sent as
one value in `workerinput` (plugin/session.py) and read back on each worker."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .endpoint import EndpointState


@dataclass(frozen=True)
class Handoff:
    """What the xdist controller learned at start and hands to every worker, as one value in `workerinput`."""

    model: EndpointState
    judge: EndpointState | None
    offline: bool

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Handoff":
        def state(raw):
            return None if raw is None else EndpointState(raw.get("model_id"), tuple(raw.get("slots") or ()),
                                                          raw.get("pace_file"))
        return cls(state(data["model"]), state(data.get("judge")), bool(data.get("offline")))
