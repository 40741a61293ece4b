"""Data: 2-D point clouds, MNIST and the offline digits, CSV files, drawn points, pixels and uploaded images,
each made into a `Dataset` of numpy arrays (make.make_dataset is the front door), with label noise (noise) if
asked for.

May import core.config only (and, for images, core.models' shapes); never core.training or above.
"""
