"""The name vocabulary: which way a metric is better when neither the store nor the config says.

This is the last of three sources (:meth:`mlreport.catalog.Catalog.goal`): what the store
declares, then ``metric_goals`` in ``mlreport.yml``, then these words. Words are matched as whole
tokens of the key (split at anything that is not a letter or digit, and at a lower-to-upper case
change), so ``val/rmse``, ``eval_loss``, ``l2.valid`` and ``valLoss`` count but ``glossary`` does
not. The table is documented in docs/formats.md; change both together.
"""

from __future__ import annotations

import functools
import re

from .model import Goal

#: tokens that mean lower is better: losses, errors, distances, costs, time and memory
LOWER_IS_BETTER = frozenset(
    {
        # losses and likelihoods
        "loss", "losses", "ls", "nll", "logloss", "perplexity", "ppl", "bpd", "bpc", "kl", "brier",
        # errors and distances
        "error", "err", "errors", "mae", "mse", "rmse", "msle", "rmsle", "mape", "smape", "l1", "l2",
        "wer", "cer", "ter", "fpr", "fnr", "fid", "distance", "regret", "cost", "eer", "hamming",
        # time and resources
        "time", "runtime", "latency", "duration", "seconds", "secs", "sec", "ms",
        "memory", "mem", "alloc", "peaked",
    }
)  # fmt: skip

#: tokens that mean higher is better (matched only to say the vocabulary knew the metric)
HIGHER_IS_BETTER = frozenset(
    {
        "acc", "accuracy", "auc", "roc", "f1", "f2", "fbeta", "precision", "recall", "bleu", "rouge",
        "rouge1", "rouge2", "rougel", "rougelsum", "meteor", "chrf", "map", "ndcg", "mrr", "iou",
        "miou", "dice", "r2", "score", "reward", "return", "sps", "throughput", "jaccard", "kappa",
        "mcc", "spearmanr", "pearson", "matthews", "exact", "em", "hit", "hits", "top1", "top5",
    }
)  # fmt: skip

#: tokens of bookkeeping counters: runtime, throughput, memory, progress — never key metrics
COUNTER_TOKENS = frozenset(
    {
        "runtime", "throughput", "memory", "mem", "alloc", "peaked", "flos", "epoch", "step",
        "global", "lr", "learning", "grad", "norm", "gpu", "cpu", "seconds", "secs", "sec",
        "duration", "timestamp",
    }
)  # fmt: skip

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SPLIT = re.compile(r"[^A-Za-z0-9]+")


def tokens(key: str) -> list[str]:
    """The lower-case word tokens of a metric key (``eval/valLoss_2`` → eval, val, loss, 2)."""
    return [t.lower() for t in _SPLIT.split(_CAMEL.sub(" ", key)) if t]


# pure functions of the key, asked for every metric cell of every page (64 times a version
# page at 1k): remembered
@functools.lru_cache(maxsize=8192)
def vocabulary_goal(key: str) -> Goal | None:
    """The goal the vocabulary gives ``key``, or None when no word of it is known.

    A lower-is-better word wins over a higher-is-better one (``accuracy_loss`` is a loss).
    """
    words = tokens(key)
    if any(t in LOWER_IS_BETTER for t in words):
        return Goal.MIN
    if any(t in HIGHER_IS_BETTER for t in words):
        return Goal.MAX
    return None


@functools.lru_cache(maxsize=8192)
def is_counter(key: str) -> bool:
    """True for runtime, throughput, memory and progress counters (``eval_runtime``,
    ``eval_samples_per_second``, ``train_mem_gpu_alloc_delta``, ``epoch``, ``learning_rate``):
    metrics a run has but nobody compares models by."""
    words = tokens(key)
    if any(t in COUNTER_TOKENS for t in words):
        return True
    # "<things>_per_second", "per_sec", "/s": a rate of work, not a quality
    return "per" in words and any(t in ("second", "sec", "s") for t in words)
