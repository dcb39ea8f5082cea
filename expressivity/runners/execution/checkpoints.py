"""A run's checkpoint beside its result store: where it lives, and whether the file there is the run's own.

checkpoint_path(store, key)   # <store's folder>/checkpoints/<key>.pt
resume_step(path, key)        # the step a run resumes from (0: no checkpoint of its own)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from expressivity.runners.execution.store import Store


def own_checkpoint(path: Path, key: str) -> dict | None:
    """The checkpoint at `path` if it is run `key`'s own (None: no file, another run's, or unreadable)."""
    from expressivity.runners.training.train import load_checkpoint

    saved = load_checkpoint(path, "cpu") if path.exists() else None
    return saved if saved is not None and saved.get("key") == key else None


def resume_step(path: Path, key: str) -> int:
    """The step a run's checkpoint holds (0: none, another run's, or unreadable, as train_fused reads it)."""
    return int((own_checkpoint(path, key) or {"step": 0})["step"])


def checkpoint_folder(store_path: Path) -> Path:
    """Where a store's runs keep their checkpoints: beside it, so a rerun of the same store finds them."""
    return Path(store_path).parent / "checkpoints"


def checkpoint_file(folder: Path, key: str) -> Path:
    """Run `key`'s checkpoint file in a checkpoint folder."""
    return Path(folder) / f"{key}.pt"


def checkpoint_path(store: Store, key: str) -> Path:
    """Where a run's checkpoint lives (in its store's checkpoint folder)."""
    return checkpoint_file(checkpoint_folder(store.path), key)
