"""Grid files: a TOML product of tasks x architectures x sizes x seeds x swept overrides, expanded to run configs.

    name = "parity-vs-archs"                 # optional; defaults to the file's stem
    tasks = ["parity", { name = "word_problem", group = "A5" }]   # a name, or a table with task parameters
    archs = ["gdn", { name = "hybrid", pattern = "GA" }]         # a name, or a table with model parameters
    sizes = ["tiny"]                         # default ["tiny"]
    seeds = [0, 1, 2]                        # default [0]

    [set]                                    # applied to every run (same keys as `--set`)
    steps = 3000
    eval_lengths = [40, 64, 128, 256]

    [sweep]                                  # each key's list joins the product
    lr = [1e-3, 3e-4]
    model.neg_eigval = [false, true]         # a dotted key names its namespace (task., model., train., eval.)

Every run is resolved (and so validated) before anything runs: an unknown task, architecture or key, or an empty
product, ends with one line naming what is allowed. Identical configs collapse into one run (same run key).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from expressivity.runners.training.config import resolve, run_key

GRID_KEYS = ("name", "tasks", "archs", "sizes", "seeds", "set", "sweep")
# A grid's name names its log folder: letters, digits, '.', '_' and '-' only, so it can never leave that folder.
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class Grid:
    """An expanded grid: its name and its run configs in product order (tasks outermost, seeds innermost)."""

    name: str
    configs: list[dict[str, Any]]

    @property
    def keys(self) -> list[str]:
        return [run_key(c) for c in self.configs]

    def only(self, wanted: Sequence[Any], of: Callable[[dict[str, Any]], Any], what: str) -> Grid:
        """The runs whose `of(config)` is one of `wanted` (every run when nothing is wanted), keys unchanged: part of
        a grid, e.g. one seed of a cell whose steps fill a session. A one-line error names the valid values when no
        run is left."""
        kept = [c for c in self.configs if not wanted or of(c) in wanted]
        if self.configs and not kept:
            have = sorted({of(c) for c in self.configs})
            raise ValueError(f"no run of {self.name} has {what} {list(wanted)}; valid: {have}")
        return Grid(name=self.name, configs=kept)


def run_seed(config: dict[str, Any]) -> int:
    return config["seed"]


def _toml(path: Path) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise ValueError("reading grid files on Python 3.10 needs `pip install tomli`") from None
    if path.is_dir():
        raise ValueError(f"{path} is a directory; give a grid file (TOML), e.g. grids/parity_eigenvalues.toml")
    if not path.is_file():
        raise ValueError(f"grid file {path} does not exist")
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"grid file {path} is not valid TOML: {err}") from None


def _named(items: Any, field: str, where: str) -> list[tuple[str, dict[str, Any]]]:
    """["a", {name="b", k=v}] -> [("a", {}), ("b", {"k": v})]."""
    if not isinstance(items, list):
        raise ValueError(f"{where}: `{field}` must be a list of names or {{ name = ..., param = ... }} tables")
    out = []
    for item in items:
        if isinstance(item, str):
            out.append((item, {}))
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            out.append((item["name"], {k: v for k, v in item.items() if k != "name"}))
        else:
            raise ValueError(f"{where}: each entry of `{field}` must be a name or a table with a `name`, got {item!r}")
    return out


def expand(spec: dict[str, Any], *, name: str = "grid", sets: dict[str, Any] | None = None) -> Grid:
    """A parsed grid table (see the module docstring) plus command-line `sets` -> a Grid of resolved configs."""
    unknown = sorted(set(spec) - set(GRID_KEYS))
    if unknown:
        raise ValueError(f"{name}: unknown grid key(s) {', '.join(unknown)}; valid: {', '.join(GRID_KEYS)}")
    task_list = _named(spec.get("tasks", []), "tasks", name)
    arch_list = _named(spec.get("archs", []), "archs", name)
    sizes = spec.get("sizes", ["tiny"])
    seeds = spec.get("seeds", [0])
    common = _flatten(spec.get("set", {}))
    sweep = _flatten(spec.get("sweep", {}))
    for field, value in (("sizes", sizes), ("seeds", seeds)):
        if not isinstance(value, list):
            raise ValueError(f"{name}: `{field}` must be a list")
    if not isinstance(common, dict) or not isinstance(sweep, dict):
        raise ValueError(f"{name}: [set] and [sweep] must be tables of key = value")
    for key, values in sweep.items():
        if not isinstance(values, list):
            raise ValueError(f"{name}: [sweep] {key} must be a list of values, got {values!r}")
    common.update(sets or {})
    axes = {
        "tasks": task_list,
        "archs": arch_list,
        "sizes": sizes,
        "seeds": seeds,
        **{f"sweep {k}": v for k, v in sweep.items()},
    }
    empty = [axis for axis, values in axes.items() if not values]
    if empty:
        raise ValueError(f"{name}: the grid has no runs: {', '.join(empty)} is empty")

    configs: dict[str, dict[str, Any]] = {}
    sweep_keys = list(sweep)
    for (task, tparams), (arch, mparams), size, seed, *swept in itertools.product(
        task_list, arch_list, sizes, seeds, *sweep.values()
    ):
        chosen: dict[str, Any] = {}
        for source in (
            {f"task.{k}": v for k, v in tparams.items()},
            {f"model.{k}": v for k, v in mparams.items()},
            common,
            dict(zip(sweep_keys, swept, strict=True)),
            {"size": size, "seed": seed},
        ):
            for key, value in source.items():
                if _bare(key) in {_bare(k) for k in chosen}:
                    raise ValueError(f"{name}: {key!r} is given twice (in a table, [set], [sweep] or --set)")
                chosen[key] = value
        try:
            config = resolve(task, arch, chosen)
        except ValueError as err:
            raise ValueError(f"{name}: {err}") from None
        configs.setdefault(run_key(config), config)
    grid_name = spec.get("name", name)
    if not isinstance(grid_name, str) or not SAFE_NAME.match(grid_name) or ".." in grid_name:
        raise ValueError(
            f"{name}: grid name {grid_name!r} is not valid; use 1-100 letters, digits, '.', '_' or '-' (no '..')"
        )
    return Grid(name=grid_name, configs=list(configs.values()))


def _flatten(table: Any, prefix: str = "") -> Any:
    """TOML reads `model.neg_eigval = true` as a nested table; turn it back into the dotted key `--set` uses."""
    if not isinstance(table, dict):
        return table
    out: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _bare(key: str) -> str:
    """The name a key sets, whatever namespace spells it; `eval.x` sets another thing than `x` (the eval task's)."""
    return key if key.startswith("eval.") else key.split(".", 1)[-1]


def load(path: str | Path, *, sets: dict[str, Any] | None = None) -> Grid:
    """Read and expand a grid file; one-line ValueError for a missing or bad file."""
    path = Path(path)
    return expand(_toml(path), name=path.stem, sets=sets)
