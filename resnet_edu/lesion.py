"""The lesion study's old address: see :mod:`resnet_edu.inside.lesion`."""
from resnet_edu.inside.lesion import lesion_single  # noqa: F401
