"""The job manager's old address: see :mod:`resnet_edu.engine`."""
from resnet_edu.engine import JobManager  # noqa: F401
