"""Adaptation methods behind one interface; each module registers its class with @register."""

from agileclf.methods.base import Method, MethodConfig, param
from agileclf.methods.persistence import load_classifier, save_classifier
from agileclf.methods.registry import make_method, method_class, method_classes, method_names, register

__all__ = [
    "Method",
    "MethodConfig",
    "load_classifier",
    "make_method",
    "method_class",
    "method_classes",
    "method_names",
    "param",
    "register",
    "save_classifier",
]
