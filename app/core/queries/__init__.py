"""Read-only query services for the desktop window.

Each function takes a SQLAlchemy session opened by a read-only
``UnitOfWork`` and returns small frozen dataclasses, so that the window shows
data without running SQL itself. Amounts are minor units of the currency
named beside them; timestamps are aware UTC datetimes.
"""
