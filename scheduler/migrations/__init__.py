"""The Alembic migrations, shipped inside the package so that an installed copy can migrate.

Alembic loads ``env.py`` and ``versions/*.py`` by path; ``scheduler.migrate`` finds this folder.
"""
