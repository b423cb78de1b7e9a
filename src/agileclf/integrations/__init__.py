"""Adapters to engines people already run: Ray Data for labelling sharded files (`pip install 'agileclf[ray]'`).

Multi-process training needs no adapter: the training loops run through accelerate, so `accelerate launch`
runs them as they are."""
