"""Split a planning instance into blocks that are solved as separate MILPs.

Units work only in their own country and in the regions agreements open to it, so the model
couples countries only through regions that units of several countries may work in, joint
operations and policy rows over every shift (a budget, share caps, a cap on launched
operations). :func:`find_blocks` joins the countries along those links (union-find) and
returns each connected component as a block; components share nothing, so the plan is the
union of their plans and the sum of their bounds bounds it.

A component above ``split_above`` eligible unit-region pairs that spans several countries
and has no row over all shifts (a budget, share caps) nor a floor in a region several
countries share is split further, one block per country, and solved by fix-and-optimize
(:mod:`optimize.decompose`): each block in turn, the other blocks' shifts in the regions it
shares with them counted as fixed effort of their countries (in the effort there and in
their part of a joint operation), so every step keeps a plan that meets every constraint
and never makes it worse.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crossplan.optimize.command import Confirmed, FixedEffort
from crossplan.optimize.eligibility import Eligibility
from crossplan.optimize.forecast import Forecast
from crossplan.optimize.inputs import Inputs
from crossplan.optimize.region_table import RegionTable
from crossplan.optimize.score import Allocation

__all__ = ["SPLIT_ABOVE", "Block", "find_blocks", "sub_inputs", "waves"]

#: Eligible unit-region pairs (per period) above which a coupled component is split by country.
SPLIT_ABOVE = 20_000


@dataclass(frozen=True, eq=False)
class Block:
    """Units, regions and joint operations solved together.

    Parameters
    ----------
    countries
        The countries whose commanded units the block plans.
    units, regions, operations
        Indices into the full inputs (sorted): its units, the regions they may work in or
        that its operations hold, its joint operations.
    shared
        Boolean over ``regions``: touched by another block too.
    pairs
        Eligible unit-region pairs per period: what building and solving it costs.
    """

    countries: tuple[str, ...]
    units: np.ndarray
    regions: np.ndarray
    operations: np.ndarray
    shared: np.ndarray
    pairs: int


def find_blocks(inputs: Inputs, split_above: int = SPLIT_ABOVE) -> list[Block]:
    """The blocks of ``inputs``: connected components, large coupled ones split by country."""
    matrix = inputs.eligibility.matrix
    active = np.flatnonzero(matrix.any(axis=1))
    country_of = np.array([u.country for u in inputs.units], dtype=object)
    countries = sorted(set(country_of[active].tolist()))
    if not countries:
        return []
    col = {c: k for k, c in enumerate(countries)}
    parent = list(range(len(countries)))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def join(group: list[int]) -> None:
        for b in group[1:]:
            parent[find(b)] = find(group[0])

    unit_col = np.array([col.get(c, -1) for c in country_of])
    # countries touching each region: a (countries, regions) mask
    touch = np.zeros((len(countries), matrix.shape[1]), dtype=bool)
    for k in range(len(countries)):
        touch[k] = matrix[unit_col == k].any(axis=0)
    ops = _live_operations(inputs)
    index = inputs.regions.index
    op_rows = {j: sorted({index[r] for r in inputs.joint_operations[j].regions}) for j in ops}
    for j in ops:
        for c in inputs.joint_operations[j].countries:
            if c in col:
                touch[col[c], op_rows[j]] = True
    for r in np.flatnonzero(touch.sum(axis=0) > 1):
        join(np.flatnonzero(touch[:, r]).tolist())
    for j in ops:
        join([col[c] for c in inputs.joint_operations[j].countries if c in col])
    policy = inputs.policy
    if policy.budget is not None or policy.max_share_per_region is not None:
        join(list(range(len(countries))))
    if policy.max_joint_operations_per_period is not None:
        join(
            sorted({col[c] for j in ops for c in inputs.joint_operations[j].countries if c in col})
        )
    groups: dict[int, list[int]] = {}
    for k in range(len(countries)):
        groups.setdefault(find(k), []).append(k)
    pairs = matrix.sum(axis=1)
    blocks = []
    for members in groups.values():
        size = int(pairs[np.isin(unit_col, members)].sum())
        shared = touch[members].sum(axis=0) > 1
        floors = policy.min_shifts_per_region > 0 and bool((shared & inputs.floor_regions).any())
        coupled = policy.budget is not None or policy.max_share_per_region is not None
        if len(members) > 1 and size > split_above and not coupled and not floors:
            parts = [[k] for k in members]
        else:
            parts = [members]
        for part in parts:
            blocks.append(_block(inputs, part, touch, unit_col, countries, ops, pairs))
    return blocks


def waves(blocks: list[Block]) -> list[list[int]]:
    """The blocks (indices into ``blocks``) in waves that may be solved at once.

    No two blocks of a wave hold a common region or joint operation, so neither's shifts are
    in what the other sees as fixed: solving a wave's blocks side by side gives the plan that
    solving them one after another gives. Each block goes to the first wave with none of its
    neighbours (greedy colouring in the blocks' order); blocks that share nothing all go to
    the first.
    """
    placed: list[list[int]] = []
    for k, block in enumerate(blocks):
        touching = set()
        if block.shared.any():
            for j in range(k):
                other = blocks[j]
                if np.intersect1d(block.regions, other.regions, assume_unique=True).size or (
                    np.intersect1d(block.operations, other.operations, assume_unique=True).size
                ):
                    touching.add(j)
        wave = next((w for w in placed if not touching.intersection(w)), None)
        if wave is None:
            placed.append([k])
        else:
            wave.append(k)
    return placed


def _live_operations(inputs: Inputs) -> list[int]:
    """Operations that can launch in some period: the only ones that couple anything."""
    live = inputs.staffing.possible.any(axis=1) | inputs.forced.any(axis=1)
    return np.flatnonzero(live).tolist()


def _block(
    inputs: Inputs,
    part: list[int],
    touch: np.ndarray,
    unit_col: np.ndarray,
    countries: list[str],
    ops: list[int],
    pairs: np.ndarray,
) -> Block:
    mine = set(part)
    names = tuple(countries[k] for k in part)
    units = np.flatnonzero(np.isin(unit_col, part) & (pairs > 0))
    regions = np.flatnonzero(touch[part].any(axis=0))
    others = [k for k in range(len(countries)) if k not in mine]
    shared = np.asarray(touch[np.ix_(np.array(others, dtype=int), regions)].any(axis=0), dtype=bool)
    operations = np.array(
        [j for j in ops if set(inputs.joint_operations[j].countries) & set(names)], dtype=int
    )
    return Block(names, units, regions, operations, shared, int(pairs[units].sum()))


def sub_inputs(inputs: Inputs, block: Block, others: Allocation | None = None) -> Inputs:
    """The inputs of ``block`` alone.

    Its units keep the reach they have in ``inputs`` (the eligibility is carried over, so
    agreements and distances are not needed); the fixed effort and confirmed operations are
    those of its regions and operations. ``others`` (an allocation of ``inputs``, other
    blocks' units only) adds their shifts in the block's shared regions as fixed effort of
    their countries.
    """
    regions, units = block.regions, block.units
    table = inputs.regions
    region_ids = tuple(table.region_ids[r] for r in regions)
    sub_table = RegionTable(
        region_ids=region_ids,
        countries=tuple(table.countries[r] for r in regions),
        lon=np.asarray(table.lon)[regions],
        lat=np.asarray(table.lat)[regions],
    )
    fc = inputs.forecast
    forecast = Forecast(
        categories=fc.categories,
        periods=fc.periods,
        activity={k: v[regions] for k, v in fc.activity.items()},
        detection_rate=fc.detection_rate[regions],
    )
    kept = set(region_ids)
    ops = [inputs.joint_operations[j] for j in block.operations]
    fixed = [row for row in inputs.fixed_effort if row.region_id in kept]
    if others is not None:
        fixed += _fixed_rows(inputs, block, others)
    unit_ids = {inputs.units[u].unit_id for u in units}
    op_ids = {op.operation_id for op in ops}
    mine = inputs.command.country is None or inputs.command.country in block.countries
    confirmed = tuple(
        Confirmed(
            operation_id=row.operation_id,
            period=row.period,
            reserved={u: n for u, n in row.reserved.items() if u in unit_ids},
            need=row.need if mine else 0,
        )
        for row in inputs.confirmed
        if row.operation_id in op_ids
    )
    # The reach is carried over as the eligibility below, so the units need none of their own.
    bare = tuple(
        inputs.units[u].model_copy(
            update={"home_region": None, "max_distance_km": None, "regions": None}
        )
        for u in units
    )
    sub = Inputs(
        units=bare,
        regions=sub_table,
        forecast=forecast,
        joint_operations=tuple(ops),
        policy=inputs.policy,
        command=inputs.command,
        fixed_effort=tuple(fixed),
        confirmed=confirmed,
        confirmed_only=inputs.confirmed_only,
    )
    matrix = inputs.eligibility.matrix[np.ix_(units, regions)]
    # A cached property, filled in: the block's reach is the full instance's, already known.
    sub.__dict__["eligibility"] = Eligibility(matrix=matrix)
    return sub


def _fixed_rows(inputs: Inputs, block: Block, others: Allocation) -> list[FixedEffort]:
    """Other blocks' shifts in ``block``'s shared regions, one row per region, period and
    country."""
    shared = np.zeros(len(inputs.regions.region_ids), dtype=bool)
    shared[block.regions[block.shared]] = True
    keep = shared[others.region] & ~np.isin(others.unit, block.units) & (others.shifts > 0)
    units = inputs.units
    rows: dict[tuple[int, int, str], list[float]] = {}
    for u, r, t, n in zip(
        others.unit[keep],
        others.region[keep],
        others.period[keep],
        others.shifts[keep],
        strict=True,
    ):
        row = rows.setdefault((int(r), int(t), units[u].country), [0.0, 0.0])
        row[0] += float(n)
        row[1] += float(n) * units[u].efficiency
    periods = inputs.forecast.periods
    return [
        FixedEffort(
            region_id=inputs.regions.region_ids[r],
            period=periods[t].date(),
            country=c,
            shifts=round(n),
            effort=e,
            source="another block of the same plan",
        )
        for (r, t, c), (n, e) in rows.items()
    ]
