"""A greedy plan: a quick, feasible, good start for the solvers.

CBC's own heuristics can fail to find any plan for this model before its time runs out,
and both solvers stop as soon as their incumbent is within the gap of the bound; a start
that meets every constraint and is near the optimum makes most solves end at the root.

Per period: pick the joint operations worth aiming for (best first, up to the policy's
limit, among those the period can staff); meet the floors (cheapest eligible units first); meet each aimed operation's
commitments (dropping an operation a country cannot staff); hand out the remaining shifts
one at a time where they gain most (per unit of cost when there is a budget); then move single
shifts between a unit's regions while that gains (local search); finally launch the aimed
operations whose commitments hold. Fixed effort (others' commitments) is in the effort
from the start, and a country's committed shifts in its part of an operation. Operations
their parties confirmed are aimed for and launched whatever else happens, and the shifts
our units pledged to them are placed first, inside their regions, and never moved out.

Given a deadline (each period its share of the time left), the greedy stops handing out
shifts one at a time when it passes: each unit's spare shifts then all go where its next
one gains most, and no shift is moved. The floors and commitments are met first, and every
later step keeps them, so what it has by then is a feasible plan, only a worse one.
"""

from __future__ import annotations

import heapq
import time

import numpy as np

from crossplan.optimize.inputs import Inputs
from crossplan.optimize.score import Allocation

__all__ = ["greedy_allocation"]

_TOL = 1e-9


def greedy_allocation(inputs: Inputs, deadline: float | None = None) -> Allocation | None:
    """A feasible allocation, or ``None`` when the greedy cannot meet the floors or caps.

    Parameters
    ----------
    inputs
        Planning inputs.
    deadline
        ``time.monotonic()`` after which no more shifts are handed out or moved.
    """
    n_t = len(inputs.periods)
    launched = np.zeros((len(inputs.joint_operations), n_t), dtype=bool)
    parts = []
    for t in range(n_t):
        # Each period its share of the time left, so a late one is not left with none.
        until = (
            None
            if deadline is None
            else time.monotonic() + (deadline - time.monotonic()) / (n_t - t)
        )
        period = _Period(inputs, t, until)
        if not period.run():
            return None
        u, r = np.nonzero(period.x)
        parts.append((u, r, np.full(len(u), t), period.x[u, r]))
        launched[:, t] = period.launched
    unit, region, period_of, shifts = (np.concatenate(c) for c in zip(*parts, strict=True))
    return Allocation(unit, region, period_of, shifts, launched)


class _Period:
    """Greedy state of one period."""

    def __init__(self, inputs: Inputs, t: int, deadline: float | None = None) -> None:
        self.inputs = inputs
        self.deadline = np.inf if deadline is None else deadline
        policy = inputs.policy
        units = inputs.units
        self.eligible = inputs.eligibility.matrix
        self.cap = np.array([u.shifts_per_period for u in units], dtype=float)
        self.cost = np.array([u.cost_per_shift for u in units])
        self.eff = np.array([u.efficiency for u in units])
        self.country = np.array([u.country for u in units], dtype=object)
        self.activity = inputs.activity[:, :, t]
        self.kappa = inputs.forecast.detection_rate[:, :, t]
        n_u, n_r = self.eligible.shape
        self.x = np.zeros((n_u, n_r))
        self.spare = self.cap.copy()
        self.left = np.inf if policy.budget is None else float(policy.budget)
        self.floor = policy.min_shifts_per_region
        # The floor of each region: none where the policy's floor does not apply.
        self.floor_at = np.where(inputs.floor_regions, float(self.floor), 0.0)
        self.fixed = inputs.fixed.effort[:, t]
        self.share = policy.max_share_per_region
        self.per_region = np.zeros(n_r)
        self.effort = np.zeros(n_r)
        self.regions_of = [np.flatnonzero(self.eligible[u]) for u in range(n_u)]
        index = inputs.regions.index
        self.op_regions = [
            np.array(sorted({index[r] for r in op.regions})) for op in inputs.joint_operations
        ]
        # Shifts each country has in each operation's regions, kept up to date by _place.
        ops = inputs.joint_operations
        countries = sorted({*self.country.tolist(), *(c for op in ops for c in op.countries)})
        column = {c: k for k, c in enumerate(countries)}
        self.country_col = np.array([column[c] for c in self.country], dtype=int)
        self.op_mask = np.zeros((len(ops), n_r), dtype=bool)
        self.member = np.zeros((len(ops), len(countries)), dtype=bool)
        for j, op in enumerate(ops):
            self.op_mask[j, self.op_regions[j]] = True
            self.member[j, [column[c] for c in op.countries]] = True
        self.forced = inputs.forced[:, t]
        # A confirmed operation's needs are met by its pledges: no commitment to reach.
        self.need = np.array([op.min_shifts_per_country for op in ops], dtype=float)
        self.need[self.forced] = 0.0
        # ...but a pledge being weighed: the plan's own units add that many shifts there.
        self.weighed = {j: float(n) for (j, tt), n in inputs.weighed.items() if tt == t}
        self.reserved = [
            (u, self.op_regions[j], float(min(n, self.cap[u])))
            for (j, tt), units in sorted(inputs.reservations.items())
            if tt == t
            for u, n in sorted(units.items())
        ]
        self.committed = np.zeros((len(ops), len(countries)))
        for j, op in enumerate(ops):
            for c in op.countries:
                pledged = inputs.fixed.shifts_in(c, self.op_regions[j], t)
                self.committed[j, column[c]] = pledged
        self.column = column
        self.launched = np.zeros(len(ops), dtype=bool)
        self.aimed = (_aim(self) & inputs.staffing.possible[:, t]) | self.forced
        self.mult = self._multipliers()
        self._set_effort(self.fixed * self.mult)

    def _multipliers(self) -> np.ndarray:
        mult = np.ones(len(self.per_region))
        for j in np.flatnonzero(self.aimed).tolist():
            mult[self.op_regions[j]] += self.inputs.joint_operations[j].effort_multiplier - 1.0
        return mult

    def _place(self, u: int, r: int, n: float = 1.0) -> None:
        self.x[u, r] += n
        self.spare[u] -= n
        self.left -= n * self.cost[u]
        self.per_region[r] += n
        self.effort[r] += n * self.eff[u] * self.mult[r]
        self.decay[r] = np.exp(-self.kappa[r] * self.effort[r])
        self.committed[:, self.country_col[u]] += n * self.op_mask[:, r]

    def _late(self) -> bool:
        return time.monotonic() > self.deadline

    def _affordable(self, u: int) -> float:
        return float(np.floor((self.left + _TOL) / self.cost[u])) if self.cost[u] > 0 else np.inf

    def _set_effort(self, effort: np.ndarray) -> None:
        self.effort = effort
        self.decay = np.exp(-self.kappa * effort[:, None])  # see _gains

    def _gains(self, u: int, rs: np.ndarray) -> np.ndarray:
        step = (self.eff[u] * self.mult[rs])[:, None]  # Σ λ exp(−κ E) (1 − exp(−κ s))
        return np.einsum(
            "ij,ij->i", self.activity[rs] * self.decay[rs], -np.expm1(-self.kappa[rs] * step)
        )

    def run(self) -> bool:
        _place_pledges(self)
        if not self._floors():
            return False
        self._commitments()
        self._fill()
        self._improve()
        self.launched = (self.aimed & self._committed_ok()) | self.forced
        total = self.per_region.sum()
        return self.share is None or bool(np.all(self.per_region <= self.share * total + _TOL))

    def _floors(self) -> bool:
        if self.floor <= 0:
            return True
        # Regions with the fewest candidate units first, so they are not crowded out.
        for r in np.argsort(self.eligible.sum(axis=0), kind="stable"):
            need = float(self.floor_at[r])
            for u in np.lexsort((-self.spare, self.cost)).tolist():
                if need <= 0:
                    break
                if self.eligible[u, r] and self.spare[u] > 0:
                    n = min(need, self.spare[u], self._affordable(u))
                    if n > 0:
                        self._place(u, int(r), n)
                        need -= n
            if need > 0:
                return False
        return True

    def _commitment(self, j: int, country: str) -> float:
        return float(self.committed[j, self.column[country]])

    def _committed_ok(self) -> np.ndarray:
        short = self.member & (self.committed < self.need[:, None])
        return np.asarray(~short.any(axis=1))

    def _commitments(self) -> None:
        ops = self.inputs.joint_operations
        for j in np.flatnonzero(self.aimed).tolist():
            op, rows = ops[j], self.op_regions[j]
            for c in op.countries:
                need = self.need[j] - self._commitment(j, c)
                members = np.flatnonzero(self.country == c)
                # The cheapest effective effort first: commitments are pure cost.
                by_value = members[
                    np.argsort(self.cost[members] / self.eff[members], kind="stable")
                ]
                for u in by_value.tolist():
                    rs = rows[self.eligible[u, rows]]
                    while need > 0 and len(rs) and self.spare[u] > 0 and self._affordable(u) > 0:
                        self._place(u, int(rs[int(np.argmax(self._gains(u, rs)))]))
                        need -= 1
            if not self.forced[j] and not self._committed_ok()[j]:
                # The shifts already placed stay: they are feasible wherever they are.
                self.aimed[j] = False
                self.mult = self._multipliers()
                self._set_effort((self.eff @ self.x + self.fixed) * self.mult)

    def _best(self, u: int) -> tuple[int, float]:
        """The region where one more shift of ``u`` gains most, and that gain."""
        rs = self.regions_of[u]
        gain = self._gains(u, rs)
        if self.share is not None:
            total = self.per_region.sum()
            room = self.per_region[rs] + 1 <= self.share * (total + 1) + _TOL
            gain = np.where(room, gain, -1.0)
        k = int(np.argmax(gain))
        return int(rs[k]), float(gain[k])

    def _fill(self) -> None:
        """Place shifts one at a time where they gain most (per unit of cost under a budget).

        Lazy greedy: gains only shrink as effort grows, so a unit's last computed gain is an
        upper bound and only the unit on top of the heap needs recomputing.
        """
        per_cost = np.isfinite(self.left)

        def key(u: int, gain: float) -> float:
            return gain / max(self.cost[u], 1e-12) if per_cost else gain

        heap: list[tuple[float, int]] = []
        for u in range(len(self.cap)):
            if self.spare[u] > 0 and len(self.regions_of[u]):
                heap.append((-key(u, self._best(u)[1]), u))
        heapq.heapify(heap)
        while heap:
            if self._late():
                _finish(self, [u for _, u in heap])
                return
            _, u = heapq.heappop(heap)
            if self.spare[u] <= 0 or self._affordable(u) < 1:
                continue
            r, gain = self._best(u)
            if gain <= 0:
                continue
            if heap and key(u, gain) < -heap[0][0]:
                heapq.heappush(heap, (-key(u, gain), u))
                continue
            self._place(u, r)
            if self.spare[u] > 0:
                heapq.heappush(heap, (-key(u, gain), u))

    def _locked(self, u: int, rs: np.ndarray) -> np.ndarray:
        """Which of ``rs`` ``u`` may not take a shift from without breaking a commitment."""
        c = self.country_col[u]
        tight = self.aimed & self.member[:, c] & (self.committed[:, c] - 1 < self.need)
        locked = self.op_mask[np.ix_(tight, rs)].any(axis=0)
        for v, rows, need in self.reserved:
            if v == u and self.x[u, rows].sum() - 1 < need:
                locked |= np.isin(rs, rows)
        return np.asarray(locked)

    def _improve(self, max_passes: int = 50) -> None:
        """Move single shifts of a unit between its regions while that gains.

        A move keeps the unit's cost and total shifts, so capacity and budget still hold;
        it never takes a region below its floor, puts one above its share cap or takes an
        aimed operation below a country's commitment.
        """
        total = self.per_region.sum()
        for _ in range(max_passes):
            moved = False
            for u, rs in enumerate(self.regions_of):
                if self._late():
                    return
                held = rs[(self.x[u, rs] > 0) & ~self._locked(u, rs)]
                if not len(held) or len(rs) < 2:
                    continue
                gain = self._gains(u, rs)
                if self.share is not None:
                    gain = np.where(
                        self.per_region[rs] + 1 <= self.share * total + _TOL, gain, -np.inf
                    )
                keeps = self.per_region[held] - 1 >= self.floor_at[held]
                loss = np.where(keeps, _losses(self, u, held), np.inf)
                b, a = int(rs[int(np.argmax(gain))]), int(held[int(np.argmin(loss))])
                if a == b or gain.max() - loss.min() <= 1e-9 * max(abs(gain.max()), 1e-12):
                    continue
                self._place(u, a, -1.0)
                self._place(u, b, 1.0)
                moved = True
            if not moved:
                return


def _place_pledges(p: _Period) -> None:
    """Place the shifts our units pledged to confirmed operations, and those of each pledge
    being weighed, where they gain most inside each operation's regions; a weighed pledge's
    shifts are then kept there (as a commitment of the planner's country)."""
    for u, rows, need in p.reserved:
        rs = rows[p.eligible[u, rows]]
        placed = 0.0
        while placed < need and len(rs) and p.spare[u] > 0 and p._affordable(u) > 0:
            p._place(u, int(rs[int(np.argmax(p._gains(u, rs)))]))
            placed += 1
    for j, n in p.weighed.items():
        rows = p.op_regions[j]
        for _ in range(int(n)):
            best: tuple[float, int, int] | None = None
            for u in np.flatnonzero(p.spare > 0).tolist():
                rs = rows[p.eligible[u, rows]]
                if not len(rs) or p._affordable(u) < 1:
                    continue
                gains = p._gains(u, rs)
                k = int(np.argmax(gains))
                if best is None or gains[k] > best[0]:
                    best = (float(gains[k]), u, int(rs[k]))
            if best is None:
                break
            p._place(best[1], best[2])
        country = p.inputs.command.country
        held = p.x[:, rows].sum()
        if country is not None and country in p.column:
            held = p._commitment(j, country)
        p.need[j] = max(p.need[j], float(held))


def _finish(p: _Period, units: list[int]) -> None:
    """Out of time: each unit's spare shifts all go where its next one gains most."""
    for u in units:
        r, gain = p._best(u)
        n = min(p.spare[u], p._affordable(u))
        if gain > 0 and n >= 1:
            if p.share is not None:
                n = 1.0  # one at a time is all a share cap surely allows
            p._place(u, r, float(np.floor(n)))


def _losses(p: _Period, u: int, rs: np.ndarray) -> np.ndarray:
    """What one shift less of ``u`` in each of ``rs`` loses: Σ λ exp(−κ E) (exp(κ s) − 1)."""
    step = (p.eff[u] * p.mult[rs])[:, None]
    return np.einsum("ij,ij->i", p.activity[rs] * p.decay[rs], np.expm1(p.kappa[rs] * step))


def _aim(p: _Period) -> np.ndarray:
    """The operations worth aiming for: best first, up to the policy's limit."""
    ops = p.inputs.joint_operations
    worth = np.array(
        [
            (op.effort_multiplier - 1.0) * p.activity[rows].sum()
            for op, rows in zip(ops, p.op_regions, strict=True)
        ]
    )
    aimed = np.zeros(len(ops), dtype=bool)
    limit = p.inputs.policy.max_joint_operations_per_period
    slots = len(ops) if limit is None else max(0, limit - int(p.forced.sum()))
    order = [j for j in np.argsort(-worth, kind="stable").tolist() if not p.forced[j]]
    aimed[order[:slots]] = True
    return aimed & (worth > 0)
