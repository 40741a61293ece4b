"""The benchmark (`python -m core bench`): engine speed and accuracy (report), the race to 95% against the
textbook loop and scikit-learn (race), what looking inside costs (timing), augmentation's accuracy and cost
(augment), and the sweep behind each optimizer's usual learning rate (reference_rates, `python -m
core.bench.reference_rates`).

Sits above everything else in core: may import any engine package, and nothing imports it but the CLI (and the
tests).
"""
