"""The partnership network at a point in time, built from the register without leakage.

A :class:`RegisterArrays` turns the register's frames into integer arrays over the bodies'
matrix positions. A :class:`Snapshot` is what was known at one moment: which pairs had
shared arrangements before, how often, which pairs share which service, how many
arrangements each body is in, and the Adamic-Adar index of every pair. Features for an
arrangement that started in year *t* use the snapshot of arrangements that started strictly
before *t*, so the arrangement itself (and anything later) never enters its own features.

Arrangements with no known start year cannot be placed in time: they are left out of every
dated snapshot and enter only the ``now`` snapshot used for serving (their own training rows
use the snapshot of all dated arrangements, which excludes them).

**The network is the observed register.** Simulated arrangements never enter a snapshot, in
training or at serving time: shared history, partners in common and "already shares this
service" always describe real, sourced arrangements. A simulated arrangement may still be a
training example (its members as partners), but its features are those of the real network
before it started, exactly as a real arrangement's would be, so the model never learns to
rely on a history that serving cannot show (no train/serve skew).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse

from recommender.geo.pairs import PairMatrices
from recommender.register.records import exits_of, gone_codes, proposed_rows

IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True)
class RegisterArrays:
    """The register as arrays over body positions.

    Attributes
    ----------
    ids : ndarray of str
        Arrangement ids.
    service : ndarray of int
        Position of each arrangement's service in ``services``.
    start, end : ndarray of float
        Start and end years (NaN when unknown or still running).
    members : list of ndarray of int
        Matrix positions of each arrangement's members that are reference bodies, lead first.
    annual : ndarray of float
        Annualised savings (NaN when no figure).
    simulated : ndarray of bool
    services : tuple of str
    one_body : tuple of (int, int)
        Positions ``(i, j)``, ``i < j``, that are one body: a fire authority and the body that
        runs it (:meth:`recommender.geo.pairs.PairMatrices.one_body`). Such a pair shares no
        history and is never a partnership: an arrangement of the two alone is internal
        (:attr:`internal`), and in a larger one only their pairs with the others count.
    """

    ids: npt.NDArray[np.str_]
    service: IntArray
    start: npt.NDArray[np.float64]
    end: npt.NDArray[np.float64]
    members: list[IntArray]
    annual: npt.NDArray[np.float64]
    simulated: npt.NDArray[np.bool_]
    services: tuple[str, ...]
    # A class default (not a factory), so a model saved before the field loads with none.
    one_body: tuple[tuple[int, int], ...] = ()
    # Members that left an arrangement that runs on without them, as its source says
    # (:func:`recommender.register.records.exits_of`): (arrangement, position, year left,
    # -inf when not given). They no longer share its service through it from that year.
    left: tuple[tuple[int, int, float], ...] = ()
    # Arrangements only proposed (recorded or named so, :func:`proposed_rows`): they never ran,
    # though the partners they name are a documented choice of partner.
    proposed: tuple[int, ...] = ()

    def __len__(self) -> int:
        return len(self.ids)

    def ran(self) -> npt.NDArray[np.bool_]:
        """Each arrangement that ran: not only proposed (:attr:`proposed`)."""
        out = np.ones(len(self.ids), dtype=bool)
        out[list(self.proposed)] = False
        return out

    @property
    def internal(self) -> npt.NDArray[np.bool_]:
        """Arrangements whose two or more members are all one body (a fire authority and the
        body that runs it): internal to that body, not partnerships."""
        pairs = set(self.one_body)
        return np.array(
            [
                len(m) >= 2
                and all(
                    (min(a, b), max(a, b)) in pairs
                    for x, a in enumerate(m.tolist())
                    for b in m.tolist()[x + 1 :]
                )
                for m in self.members
            ],
            dtype=bool,
        )

    @property
    def dated(self) -> npt.NDArray[np.bool_]:
        return ~np.isnan(self.start)


def register_arrays(
    arrangements: pd.DataFrame,
    members: pd.DataFrame,
    pairs: PairMatrices,
    services: Iterable[str],
) -> RegisterArrays:
    """Convert register frames to :class:`RegisterArrays` (members outside the reference are
    dropped)."""
    services = tuple(services)
    service_pos = {s: i for i, s in enumerate(services)}
    a = arrangements.reset_index(drop=True)
    m = members[members["body_code"].isin(pairs.index)]
    m = m.sort_values(["arrangement_id", "position"])
    positions = pairs.positions(m["body_code"].astype(str))
    by_id: dict[str, list[int]] = {}
    for arrangement_id, pos in zip(m["arrangement_id"].astype(str), positions, strict=True):
        by_id.setdefault(arrangement_id, []).append(int(pos))
    ids = a["id"].to_numpy(dtype=str)
    # Distinct members, lead first (an abolished council split in two may repeat a code).
    member_list = [np.array(list(dict.fromkeys(by_id.get(i, []))), dtype=np.intp) for i in ids]
    return RegisterArrays(
        ids=ids,
        service=np.array([service_pos[s] for s in a["service"]], dtype=np.intp),
        start=pd.to_numeric(a["start_year"], errors="coerce").to_numpy(dtype=float),
        end=pd.to_numeric(
            a.get("end_year", pd.Series(np.nan, index=a.index)), errors="coerce"
        ).to_numpy(dtype=float),
        members=member_list,
        annual=pd.to_numeric(a["annual_savings_gbp"], errors="coerce").to_numpy(dtype=float),
        simulated=a["simulated"].astype(bool).to_numpy(),
        services=services,
        one_body=pairs.one_body(),
        left=members_left(list(a["name"]), list(a["simulated"]), pairs.index)
        if "name" in a
        else (),
        proposed=tuple(int(k) for k in np.flatnonzero(proposed_rows(a))) if "name" in a else (),
    )


def members_left(
    names: Sequence[str], simulated: Sequence[bool], index: Mapping[str, int]
) -> tuple[tuple[int, int, float], ...]:
    """:attr:`RegisterArrays.left` for arrangements by their ``names`` and ``simulated``, in
    order, each member at its position in ``index``."""
    out = []
    for k, (name, fake) in enumerate(zip(names, simulated, strict=True)):
        for code, reading in exits_of(str(name), bool(fake)).items():
            if code in index:
                year = -np.inf if reading.year is None else float(reading.year)
                out.append((k, int(index[code]), year))
    return tuple(out)


def members_gone(
    ids: Sequence[str],
    given: Mapping[str, Sequence[tuple[str, str, str]]],
    index: Mapping[str, int],
) -> tuple[tuple[int, int, float], ...]:
    """:attr:`RegisterArrays.left` for the members abolished since that no one body succeeded
    (:func:`~recommender.register.records.gone_codes`: NHS Leeds, a primary care trust, in
    the Leeds joint director of public health): no longer sharing its service through it,
    though what they did stays history. ``given`` is each real arrangement's members as given
    (``member_given``: code, name, resolution), by id. No year: gone now."""
    out = []
    for k, ident in enumerate(ids):
        for code in sorted(gone_codes(given.get(str(ident)) or ())):
            if code in index:
                out.append((k, int(index[code]), -np.inf))
    return tuple(out)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity (a cache key)
class Snapshot:
    """What was known about the partnership network at one moment.

    Attributes
    ----------
    prior : ndarray of shape (n, n)
        Number of arrangements each pair has shared (ended ones included).
    shares : ndarray of shape (n_services, n, n)
        The pair shares the service in a running arrangement.
    body_shares : ndarray of shape (n_services, n)
        The body shares the service with anyone in a running arrangement.
    degree : ndarray of shape (n,)
        Arrangements each body has been in.
    n_partners : ndarray of shape (n,)
        Distinct partners each body has had.
    common : ndarray of shape (n, n)
        Partners the pair has in common.
    adamic_adar : ndarray of shape (n, n)
        Sum over common partners z of 1 / log(partners of z).
    ties : ndarray of shape (n, n)
        Strength of each pair's shared history: the sum over the arrangements they shared of
        1 / (members − 1), so a pair sharing one service counts 1 and two members of a
        twenty-council hub count 1/19.
    """

    prior: npt.NDArray[np.float32]
    shares: npt.NDArray[np.bool_]
    body_shares: npt.NDArray[np.bool_]
    degree: npt.NDArray[np.float32]
    n_partners: npt.NDArray[np.float32]
    common: npt.NDArray[np.float32]
    adamic_adar: npt.NDArray[np.float32]
    ties: npt.NDArray[np.float32]


def snapshot(
    reg: RegisterArrays, visible: npt.NDArray[np.bool_], n: int, *, year: float | None
) -> Snapshot:
    """Build the network from the arrangements flagged ``visible``.

    ``year`` decides which arrangements are still running (an arrangement that ended in or
    before ``year`` no longer counts as sharing its service, nor does a member that left one
    in or before it, :attr:`RegisterArrays.left`); ``None`` means now.
    """
    n_services = len(reg.services)
    left: dict[int, dict[int, float]] = {}  # a member that left: not sharing through it since
    for at, member, since in reg.left:
        left.setdefault(at, {})[member] = since
    prior = np.zeros((n, n), dtype=np.float32)
    ties = np.zeros((n, n), dtype=np.float32)
    shares = np.zeros((n_services, n, n), dtype=bool)
    degree = np.zeros(n, dtype=np.float32)
    for k in np.flatnonzero(visible):
        g = reg.members[k]
        if len(g) == 0:
            continue
        degree[g] += 1
        if len(g) < 2:
            continue
        block = np.ix_(g, g)
        prior[block] += 1
        ties[block] += 1.0 / (len(g) - 1)
        running = np.isnan(reg.end[k]) or (year is not None and reg.end[k] > year)
        if running:
            exits = left.get(int(k), {})
            gone = {x for x, since in exits.items() if year is None or since <= year}
            on = [x for x in g.tolist() if x not in gone] if gone else g
            shares[reg.service[k]][np.ix_(on, on)] = True
    np.fill_diagonal(prior, 0)
    np.fill_diagonal(ties, 0)
    for s in range(n_services):
        np.fill_diagonal(shares[s], False)
    # A fire authority and the body that runs it are one body: no shared history, not partners.
    if reg.one_body:
        i, j = (np.array(x, dtype=np.intp) for x in zip(*reg.one_body, strict=True))
        for a, b in ((i, j), (j, i)):
            prior[a, b] = 0
            ties[a, b] = 0
            shares[:, a, b] = False
    linked = (prior > 0).astype(np.float32)
    n_partners = linked.sum(axis=1)
    common = linked @ linked
    with np.errstate(divide="ignore"):
        weight = np.where(n_partners > 1, 1.0 / np.log(np.maximum(n_partners, 2)), 0.0)
    adamic_adar = (linked * weight.astype(np.float32)) @ linked
    np.fill_diagonal(common, 0)
    np.fill_diagonal(adamic_adar, 0)
    return Snapshot(
        prior=prior,
        shares=shares,
        body_shares=np.asarray(shares.any(axis=2), dtype=bool),
        degree=degree,
        n_partners=n_partners,
        common=common.astype(np.float32),
        adamic_adar=adamic_adar.astype(np.float32),
        ties=ties,
    )


def as_the_register_says(
    reg: RegisterArrays,
    n: int,
    *,
    deleted: Collection[str] = (),
    ended: Mapping[str, int | None] | None = None,
    left: tuple[tuple[int, int, float], ...] | None = None,
) -> Snapshot:
    """The serving network (``now``) of the real arrangements in ``reg`` as the register holds
    them today: those ``deleted`` from it since are left out, and those it says have ``ended``
    since (id to end year, None when not given) no longer share their service (their history
    stays: they did work together); nor do the members that ``left`` one (as
    :attr:`RegisterArrays.left`; the register's own by default).

    What a served answer states as fact ("already works with … on …", a partner that
    already shares the service) is read from this, not from the network the model was
    trained on, which still holds them until a retrain."""
    ids = reg.ids.astype(str)
    keep = ~reg.simulated & ~np.isin(ids, list(deleted))
    end = reg.end.copy()
    for k in np.flatnonzero(np.isin(ids, list(ended or {}))):
        year = (ended or {})[str(ids[k])]
        end[k] = -np.inf if year is None else float(year)  # over, whenever it was
    return snapshot(
        replace(reg, end=end, left=reg.left if left is None else left), keep, n, year=None
    )


def families(reg: RegisterArrays) -> sparse.csr_matrix:
    """``F[k, j]`` is True when arrangements k and j share two or more reference members: the
    same partnership (another service, another year). A held-out arrangement's family is held
    out with it (see :mod:`recommender.model.evaluation`). Each arrangement is in its own family."""
    n = len(reg)
    rows = np.repeat(np.arange(n), [len(m) for m in reg.members])
    cols = np.concatenate([*reg.members, np.empty(0, dtype=np.intp)]).astype(np.intp)
    width = int(cols.max()) + 1 if len(cols) else 1
    membership = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, width))
    shared = (membership @ membership.T).tocsr()
    shared.data = (shared.data >= 2).astype(np.float64)
    shared.eliminate_zeros()
    return (shared + sparse.identity(n, format="csr")).astype(bool).tocsr()


class SnapshotCache:
    """Snapshots of the network before each start year, built once and reused.

    ``before(year)`` holds the dated arrangements that started strictly before ``year``;
    ``dated()`` holds every dated arrangement (for undated arrangements' own rows); ``now()``
    holds everything (for serving). Only real arrangements are ever held (see the module
    docstring). ``exclude`` removes arrangements from all of them, as if they had never been
    recorded (used by hold-out evaluations).
    """

    def __init__(
        self, reg: RegisterArrays, n: int, exclude: npt.NDArray[np.bool_] | None = None
    ) -> None:
        self.reg = reg
        self.n = n
        self.keep = ~reg.simulated if exclude is None else ~reg.simulated & ~exclude
        self._cache: dict[object, Snapshot] = {}

    def before(self, year: float) -> Snapshot:
        key = ("before", float(year))
        if key not in self._cache:
            visible = self.keep & self.reg.dated & (self.reg.start < year)
            self._cache[key] = snapshot(self.reg, visible, self.n, year=year)
        return self._cache[key]

    def dated(self) -> Snapshot:
        if "dated" not in self._cache:
            visible = self.keep & self.reg.dated
            self._cache["dated"] = snapshot(self.reg, visible, self.n, year=None)
        return self._cache["dated"]

    def now(self) -> Snapshot:
        if "now" not in self._cache:
            self._cache["now"] = snapshot(self.reg, self.keep.copy(), self.n, year=None)
        return self._cache["now"]

    def for_arrangement(self, k: int) -> Snapshot:
        """The snapshot arrangement ``k``'s own features are built from."""
        start = self.reg.start[k]
        return self.dated() if np.isnan(start) else self.before(start)
