"""3D CNNs that map a network input (B, C, n, n, n) to one logit per sample (B,), and a registry.

Every network ends in global pooling, so any cubic resolution works; none has a Sigmoid (the
loss is BCEWithLogitsLoss; apply torch.sigmoid for probabilities). All follow one contract,
`base.VoxelNet`: forward(x) = forward_head(forward_features(x)).
"""

from printability.models.registry import (
    DEFAULT_MODEL,
    MODELS,
    ModelSpec,
    count_parameters,
    create_model,
    get_model_spec,
    spec_of,
)

__all__ = [
    "DEFAULT_MODEL",
    "MODELS",
    "ModelSpec",
    "count_parameters",
    "create_model",
    "get_model_spec",
    "spec_of",
]
