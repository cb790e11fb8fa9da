"""Correct answers to lesson 10's exercises (the checkers' tests use them; the notebook never shows them)."""

from __future__ import annotations

import math


def my_difference(reference, variant):
    def mean(v):
        return sum(v) / len(v)

    def sample_var(v):
        m = mean(v)
        return sum((x - m) ** 2 for x in v) / (len(v) - 1)

    diff = mean(variant) - mean(reference)
    se = math.sqrt(sample_var(reference) / len(reference) + sample_var(variant) / len(variant))
    return diff, se


def my_seeds_needed(std, diff):
    # 2 * std * sqrt(2 / n) <= |diff|  <=>  n >= 8 std^2 / diff^2
    n = 8 * std**2 / diff**2
    return max(2, math.ceil(n - 1e-12))
