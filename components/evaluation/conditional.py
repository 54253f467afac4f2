"""Class-conditional quality: does the generator draw the class it was asked for, and how well, class by class?

Conditional accuracy is the evaluator classifier's accuracy on samples generated for each requested class; its
ceiling is the same classifier's accuracy on real test images (a generator that returned real images of the asked
class would score exactly that). Per-class FID/KID compare each class's samples with that class's real test images
(the mean per-class FID is often called intra-FID), beside the real floor: real training images of the class.
"""

from __future__ import annotations

import numpy as np

from components.evaluation import frechet


def conditional_accuracy(predicted: np.ndarray, requested: np.ndarray, num_classes: int) -> tuple[float, np.ndarray]:
    """Overall accuracy and per-class accuracy (NaN for a class never requested)."""
    predicted, requested = np.asarray(predicted), np.asarray(requested)
    per_class = np.array(
        [(predicted[requested == c] == c).mean() if (requested == c).any() else np.nan for c in range(num_classes)]
    )
    return float((predicted == requested).mean()), per_class


def per_class_distances(
    f_real: np.ndarray, real_labels: np.ndarray, f_fake: np.ndarray, fake_labels: np.ndarray, num_classes: int
) -> dict[str, np.ndarray]:
    """FID and KID per class (features of the class's real images vs its generated ones)."""
    fid, kid = np.full(num_classes, np.nan), np.full(num_classes, np.nan)
    for c in range(num_classes):
        real, fake = f_real[real_labels == c], f_fake[fake_labels == c]
        if len(real) >= 2 and len(fake) >= 2:
            fid[c], kid[c] = frechet.fid(real, fake), frechet.kid(real, fake)
    return {"fid": fid, "kid": kid}
