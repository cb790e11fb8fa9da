"""The course layer: one file per lesson with its figures, slider explorers and exercise checkers.

| lesson | course file | idea module(s) |
|---|---|---|
| 00 | ``lesson00_welcome`` | — |
| 01 | ``lesson01_patches`` | ``patches`` |
| 02 | ``lesson02_local_windows`` | ``windows`` |
| 03 | ``lesson03_complexity`` | ``complexity`` |
| 04 | ``lesson04_relative_position`` | ``relative_position`` |
| 05 | ``lesson05_shifted_windows`` | ``shift`` |
| 06 | ``lesson06_patch_merging`` | ``merging`` |
| 07 | ``lesson07_swin_transformer`` | ``attention``, ``model`` |
| 08 | ``lesson08_train_cifar10`` | ``data``, ``train``, ``bench`` |
| 09 | ``lesson09_swin_vs_vit`` | ``vit``, ``race`` |
| 10 | ``lesson10_ablations`` | ``ablate`` (and the ``model`` options ``shift``, ``position``) |

Shared by every lesson: ``draw`` (drawing helpers), ``explorer`` (the slider ``Explorer``) and ``checks``
(``ExerciseError`` and the comparison the checkers use). The idea modules never import from here.
"""
