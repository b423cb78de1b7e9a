"""Multi-label variants of the methods (`--task multilabel`): same names, label lists in, label sets out."""

from agileclf.methods.multilabel.base import MultiLabelMethod

__all__ = ["MultiLabelMethod"]
