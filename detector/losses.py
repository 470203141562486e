"""The DBNet loss: BCE with hard negative mining on the probability map, dice on the approximate binary
map, L1 on the threshold map (L = Ls + alpha Lb + beta Lt, alpha = 1, beta = 10 as in the paper)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def balanced_bce(logits: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor, negative_ratio: float = 3.0) -> torch.Tensor:
    """BCE over all positives and the hardest negatives (at most ``negative_ratio`` per positive)."""
    loss = F.binary_cross_entropy_with_logits(logits, gt, reduction="none")
    positive = gt * mask
    negative = (1 - gt) * mask
    n_pos = int(positive.sum().item())
    n_neg = min(int(negative.sum().item()), max(int(n_pos * negative_ratio), 100))  # text-free crops still learn
    hard_negatives = torch.topk((loss * negative).flatten(), n_neg).values if n_neg else loss.new_zeros(0)
    return ((loss * positive).sum() + hard_negatives.sum()) / (n_pos + n_neg + 1e-6)


def dice_loss(pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    inter = (pred * gt * mask).sum()
    union = (pred * mask).sum() + (gt * mask).sum() + 1e-6
    return 1 - 2 * inter / union


def db_loss(outputs: dict[str, torch.Tensor], targets: torch.Tensor, alpha: float = 1.0, beta: float = 10.0
            ) -> tuple[torch.Tensor, dict[str, float]]:
    """outputs: DBNet training outputs (B, 1, H, W); targets: (B, 4, H, W) prob, prob_mask, thresh, thresh_mask."""
    prob, prob_mask, thresh, thresh_mask = targets.float().unbind(1)
    ls = balanced_bce(outputs["prob_logits"][:, 0].float(), prob, prob_mask)
    lb = dice_loss(outputs["binary"][:, 0].float(), prob, prob_mask)
    lt = ((outputs["thresh"][:, 0].float() - thresh).abs() * thresh_mask).sum() / (thresh_mask.sum() + 1e-6)
    total = ls + alpha * lb + beta * lt
    return total, {"loss_prob": ls.item(), "loss_binary": lb.item(), "loss_thresh": lt.item()}
