"""A module with its own globals, for tests of functions defined elsewhere."""
import torch

FACTOR = 4.0


def scaled(x):
    return torch.relu(x) * FACTOR
