"""The main job on its embedded default (`make demo`).

Until training presets exist this shows one sampled example of every registered task, which exercises every
generator end to end on the CPU in seconds.
"""

from __future__ import annotations

import numpy as np

from expressivity import tasks


def main() -> None:
    rng = np.random.default_rng(0)
    for name in tasks.names():
        task = tasks.make(name)
        length = max(task.min_length, 6)
        batch = task.sample(rng, 1, length)
        print(f"## {task!r}   level: {task.level}   length={length} {task.length_unit}   chance={task.chance:.3g}")
        print(task.render(batch, 0))
        print()


if __name__ == "__main__":
    main()
