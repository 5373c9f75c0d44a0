"""Quick runs on part of a data set: which images to keep when only N of them are wanted.

One rule for every subset (a training lane's ``max_train_images``, ``load_dataset``'s
``max_train``/``max_test`` on CIFAR-10 or an image folder): a class-balanced choice, random but
reproducible. An image folder lists its files class by class, so its first N files would be the
first classes only and a "quick" run would learn a different, easier problem.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from resnet_edu.data.dataset import seeded_generator


def balanced_subset(labels: torch.Tensor, count: int, seed: int | None = None) -> torch.Tensor:
    """Indices (ascending) of ``count`` images with every class as equally represented as the data allows.

    Chosen at random but always the same for the same ``seed``: a quick run on 1,000 images of an
    image folder gets about 100 of each of its 10 classes, not the first classes only.

    Args:
        labels: int64 (N,) class indices.
        count: how many to keep (at most N are returned).
        seed: varies the choice; None is one fixed choice whatever the run's seed (the training
            process decodes a data set once and gives every run the same subset of it).
    """
    n = labels.shape[0]
    generator = seeded_generator("balanced subset") if seed is None else seeded_generator("balanced subset", seed)
    order = torch.randperm(n, generator=generator)
    shuffled = labels[order].long()
    one_hot = F.one_hot(shuffled, int(shuffled.max()) + 1 if n else 1)              # (N, classes)
    rank_in_class = (one_hot.cumsum(0) * one_hot).sum(1) - 1                        # 0, 1, 2 … per class
    round_robin = torch.argsort(rank_in_class * n + torch.arange(n), stable=True)  # class by class, by rank
    return order[round_robin[:count]].sort().values


def subset_to_keep(labels: torch.Tensor, limit: int | None, seed: int, split: str) -> torch.Tensor | None:
    """The indices ``max_train``/``max_test`` = ``limit`` keep: None for all of them, else a balanced subset.

    Raises:
        ValueError: ``limit`` below 1.
    """
    if limit is None or limit >= labels.shape[0]:
        return None
    if limit < 1:
        raise ValueError(f"max_{split} must be at least 1, not {limit}")
    return balanced_subset(labels, limit, seed)
