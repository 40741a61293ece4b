"""Take it home: the replay as a GIF and the run's CSVs (files), and the standalone training script (script,
from the text in templates).

May import core.config, core.data and core.training (their types), and core.plots.style (colours).
"""
