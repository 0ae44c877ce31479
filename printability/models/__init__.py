"""3D CNNs that map a voxel grid (B, 1, N, N, N) to one logit per sample (B,), and a registry.

Every network ends in global pooling, so any cubic resolution works; none has a Sigmoid (the
loss is BCEWithLogitsLoss; apply torch.sigmoid for probabilities).
"""

from printability.models.registry import MODELS, ModelSpec, count_parameters, create_model

__all__ = ["MODELS", "ModelSpec", "count_parameters", "create_model"]
