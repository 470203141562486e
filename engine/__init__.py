"""The base under both stages: what the detector and the recognizer share.

One image reader (torch-free), checkpoints (save, load, resolve a shipped name), device choice and
batch-norm folding for inference, and the one training loop. It imports nothing else of the project.
"""
