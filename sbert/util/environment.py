"""sentence-transformers' ``util.environment`` module path: what is installed, and the device."""

from . import get_device_name, is_accelerate_available, is_datasets_available, is_training_available

__all__ = ["get_device_name", "is_accelerate_available", "is_datasets_available", "is_training_available"]
