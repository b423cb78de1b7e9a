"""Reading, validating and sampling labelled text."""

from agileclf.data.labels import LabelSet, read_label_descriptions
from agileclf.data.readers import Dataset, read_examples, read_texts
from agileclf.data.sampling import FewShotSample, sample_few_shot, sample_rows

__all__ = [
    "Dataset",
    "FewShotSample",
    "LabelSet",
    "read_examples",
    "read_texts",
    "read_label_descriptions",
    "sample_few_shot",
    "sample_rows",
]
