"""What outlives a page run: the SQLAlchemy schema (db) and its Alembic migrations (migrations, `python -m core db`
in cli), run history (runs) and its background writer (writer), class boards (board), and the server-side session
store with its memory accounting (store, memsize).

May import core.config, core.url, core.evaluate and core.data; never core.lab (the Lab hands it ended runs).
"""
