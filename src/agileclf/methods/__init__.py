"""Adaptation methods behind one interface; each module registers its class with @register."""

from agileclf.methods.base import Method, MethodConfig, param
from agileclf.methods.registry import make_method, method_class, method_classes, method_names, register

__all__ = [
    "Method",
    "MethodConfig",
    "make_method",
    "method_class",
    "method_classes",
    "method_names",
    "param",
    "register",
]
