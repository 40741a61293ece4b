"""The benchmark (`python -m core bench`): engine speed and accuracy (report), the race to 95% against the
textbook loop and scikit-learn (race), what looking inside costs (timing), and augmentation's accuracy and cost
(augment).

Sits above everything else in core: may import any engine package, and nothing imports it but the CLI.
"""
