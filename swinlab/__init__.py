"""swinlab: the Swin Transformer built from scratch, one idea per module.

| lesson | module |
|---|---|
| 01 patches | ``swinlab.patches`` |
| 02 local windows | ``swinlab.windows`` |
| 03 complexity | ``swinlab.complexity`` |
| 04 relative position | ``swinlab.relative_position`` |
| 05 shifted windows | ``swinlab.shift`` |
| 06 patch merging | ``swinlab.merging`` |
| 07 the model | ``swinlab.attention``, ``swinlab.model`` |
| 08 training on CIFAR-10 | ``swinlab.data``, ``swinlab.train``, ``swinlab.bench`` |
| 09 Swin vs ViT | ``swinlab.vit``, ``swinlab.race`` |
| 10 what each idea buys | ``swinlab.ablate`` (and the ``model`` options ``shift``, ``position``) |

For maintainers: ``swinlab.reference_run`` (the GPU reference run of lessons 08 and 09).

Each lesson's figures, slider explorers and exercise checkers live in its course file,
``swinlab.course.lessonNN_<name>``; the idea modules above never import matplotlib, ipywidgets or the course layer.
"""

import os

__version__ = "0.1.0"


def quick_mode() -> bool:
    """True when ``SWINLAB_QUICK=1``: long cells (training, timing sweeps) shrink so CI runs on two CPU cores."""
    return os.environ.get("SWINLAB_QUICK", "0").strip().lower() in {"1", "true", "yes", "on"}
