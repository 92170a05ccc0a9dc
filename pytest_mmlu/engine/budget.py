"""What this run spends on new requests, against `--mmlu-budget`: when it reaches the budget, the model endpoint
stops asking (a RunStop of kind `budget`); replies in flight still arrive and are kept, so the run may overshoot by
at most what was in flight. Replies from the cache cost nothing new.

Under xdist each of N processes keeps its own account with a budget of 1/N: they share no state while asking."""

from __future__ import annotations

import threading

from ..core.errors import BUDGET, RunStop
from ..core.prices import Budget, Price
from ..core.reply import Reply


class Spending:
    def __init__(self, budget: Budget, price: Price | None, backend: str, share: int = 1):
        self.budget, self.price, self.backend = budget, price, backend
        self.share = max(1, share)
        self.limit = budget.amount / self.share
        self.spent = 0.0  # tokens or dollars
        self.requests = 0
        self._lock = threading.Lock()

    def add(self, reply: Reply) -> RunStop | None:
        """Count one new reply; the stop to apply when this one reached the budget (or cannot be counted)."""
        figures = reply.usage.to_json() if reply.usage is not None else {}
        if self.budget.money:
            amount = self.price.cost(figures) if self.price is not None else None
        else:
            t_in, t_out = figures.get("tokens_in"), figures.get("tokens_out")
            amount = t_in + t_out if isinstance(t_in, int) and isinstance(t_out, int) else None
        with self._lock:
            self.requests += 1
            if amount is None:  # never guess: a budget that cannot be counted stops the run
                return RunStop(BUDGET, self.backend, "", f"{self.backend} reported no token counts, so the "
                               f"budget of {self.budget.describe()} cannot be kept")
            self.spent += amount
            if self.spent < self.limit:
                return None
            return RunStop(BUDGET, self.backend, "", self.describe())

    def describe(self) -> str:
        share = f" (this process's 1/{self.share} of {self.budget.describe()})" if self.share > 1 else ""
        spent, limit = self.budget.describe(self.spent), self.budget.describe(self.limit)
        return f"{spent} of {limit}{share} on {self.requests} requests"
