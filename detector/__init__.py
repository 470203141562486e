"""Text localization: a DBNet-style detector (network, targets, post-processing, training, Detector)."""
