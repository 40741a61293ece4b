"""Links: settings <-> query string (state), pts= for your own points (points), and the text form and
hostile-input care of each value (text). Pure code shared by the pages and the command line.

May import core.config, core.data and core.training.presets; never core.history, core.lab or above.
"""
