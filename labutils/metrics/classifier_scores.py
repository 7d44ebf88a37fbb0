"""What a digit classifier says about generated digits: how sure it is, and how evenly it sees the ten classes."""
from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def classify(classifier: nn.Module, images: torch.Tensor, batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """Class probabilities (N, 10) and penultimate features (N, D) of images in [0, 1], on the CPU."""
    classifier.eval()
    device = next(classifier.parameters()).device
    probs, feats = [], []
    for start in range(0, len(images), batch_size):
        x = images[start:start + batch_size].to(device).float()
        f = classifier.features(x)
        probs.append(torch.softmax(classifier.head(f), dim=1).cpu())
        feats.append(f.cpu())
    return torch.cat(probs), torch.cat(feats)


def class_confidence(probs: torch.Tensor) -> float:
    """Mean of the classifier's top probability: 1 when every image is clearly some digit, 0.1 at chance."""
    return float(torch.as_tensor(probs).max(dim=1).values.mean())


def class_entropy(probs: torch.Tensor) -> float:
    """Mean entropy of the class probabilities per image, in nats: 0 when sure, log(10) = 2.30 when lost."""
    p = torch.as_tensor(probs).double()
    return float(-(p * p.clamp_min(1e-12).log()).sum(1).mean())


def class_balance_entropy(probs: torch.Tensor) -> float:
    """Entropy of the average class distribution, in nats: log(10) = 2.30 when all digits appear
    equally often, 0 when the samples are all one digit (the diversity half of the Inception score)."""
    p = torch.as_tensor(probs).double().mean(0)
    return float(-(p * p.clamp_min(1e-12).log()).sum())
