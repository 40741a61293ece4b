"""Sweeps: a grid of one or two settings (grid), run cell by cell on a backend (run: local job slots, or Ray
through ray_backend), as a job the pages poll (job), and the command line's `sweep` (cli).

May import core.config, core.models, core.evaluate, core.data, core.training and core.history.writer.
"""
