"""The SQLAlchemy tables, one module per feature.

Nothing is listed here: a table joins `Base.metadata` when its module is imported, which every
feature's repository does; Alembic and the tests load the registered features to see them all.
"""
