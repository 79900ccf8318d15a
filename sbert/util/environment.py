"""sentence-transformers' ``util.environment`` module path: what is installed, the device, and whether a
process group runs."""

from . import (
    check_package_availability,
    get_device_name,
    is_accelerate_available,
    is_datasets_available,
    is_dist_initialized,
    is_training_available,
)

__all__ = [
    "check_package_availability",
    "get_device_name",
    "is_accelerate_available",
    "is_datasets_available",
    "is_dist_initialized",
    "is_training_available",
]
