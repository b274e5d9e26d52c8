"""How many GPUs this process may use, without importing CUDA libraries.

Tests marked ``gpu_N`` (N >= 1) are scheduled by CI on N-GPU runners only; when
someone runs the whole suite on a CPU box they skip with a clear reason instead
of failing (see ``requires_gpus`` uses in the tests).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_NVIDIA_DEVICE = re.compile(r"^nvidia\d+$")


def visible_gpu_count(env: dict[str, str] | None = None, dev: Path = Path("/dev")) -> int:
    env = os.environ if env is None else env
    visible = env.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        ids = [v.strip() for v in visible.split(",") if v.strip()]
        # "-1" (or any negative id) hides every device from CUDA.
        if any(v.startswith("-") for v in ids):
            return 0
        return len(ids)
    try:
        return sum(1 for p in dev.iterdir() if _NVIDIA_DEVICE.match(p.name))
    except OSError:
        return 0
