"""Table 1 of a net, at its old address: see :mod:`resnet_edu.summary`."""
from resnet_edu.summary import describe  # noqa: F401
