"""ERP use cases: each function takes a session and returns pydantic models, never ORM rows.

Read functions are pure functions of their arguments and the database, so a
cache can wrap them; write functions commit their own transaction.
"""
