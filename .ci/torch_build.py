#!/usr/bin/env python3
"""Which PyTorch build `make` installs: prints the pip arguments for it, and on stderr why.

- Linux with an NVIDIA GPU (``nvidia-smi`` on the PATH): PyPI's default build, which brings CUDA.
- Linux without one: PyTorch's CPU build from its own index, ``https://download.pytorch.org/whl/cpu``,
  when that index answers within a few seconds; otherwise (a machine that reaches only PyPI or a mirror
  of it) PyPI's default build, at once rather than after a hang.
- Any other system (macOS): PyPI's default build, which has no CUDA there anyway.

Usage: ``python3 tools/torch_build.py torch==2.13.0`` prints e.g.
``torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu``. Standard library only: it runs
before the virtual environment exists.
"""

from __future__ import annotations

import platform
import shutil
import sys
import threading
import urllib.request
from collections.abc import Callable

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PROBE_SECONDS = 5.0


def has_nvidia_gpu() -> bool:
    """True when ``nvidia-smi`` is on the PATH: the NVIDIA driver is installed, so a CUDA build can run."""
    return shutil.which("nvidia-smi") is not None


def index_answers(url: str = CPU_INDEX, seconds: float = PROBE_SECONDS) -> bool:
    """True when ``url/torch/`` answers an HTTP HEAD request within ``seconds`` (name lookup included)."""
    answered = []

    def probe() -> None:
        try:
            request = urllib.request.Request(url.rstrip("/") + "/torch/", method="HEAD")
            with urllib.request.urlopen(request, timeout=seconds) as response:
                answered.append(response.status < 400)
        except (OSError, ValueError):  # no route, no DNS, refused, timed out, HTTP error, bad URL
            answered.append(False)

    # A thread bounds the whole probe: urlopen's timeout does not cover the name lookup.
    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(seconds)
    return bool(answered and answered[0])


def choose(
    requirement: str,
    system: str,
    gpu: Callable[[], bool] | None = None,
    cpu_index: Callable[[], bool] | None = None,
) -> tuple[list[str], str]:
    """-> (pip arguments, the reason in one sentence).

    ``gpu`` and ``cpu_index`` (default: :func:`has_nvidia_gpu`, :func:`index_answers`) are asked only when needed.
    """
    gpu = gpu or has_nvidia_gpu
    cpu_index = cpu_index or index_answers
    if system != "Linux":
        return [requirement], f"{system}: PyPI's {requirement} (no CUDA build there)."
    if gpu():
        return [requirement], f"NVIDIA GPU found (nvidia-smi): PyPI's {requirement}, the CUDA build."
    if cpu_index():
        return (
            [requirement, "--index-url", CPU_INDEX],
            f"No NVIDIA GPU (no nvidia-smi): PyTorch's CPU build of {requirement} from {CPU_INDEX}.",
        )
    return (
        [requirement],
        f"No NVIDIA GPU, but {CPU_INDEX} is out of reach (no answer within {PROBE_SECONDS:g} s): "
        f"PyPI's {requirement} instead.",
    )


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: torch_build.py REQUIREMENT   (e.g. torch==2.13.0)", file=sys.stderr)
        return 2
    arguments, reason = choose(argv[0], platform.system())
    print(reason, file=sys.stderr)
    print(" ".join(arguments))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
