"""Fulfillment: routing, rate tables, pick batches, packing and shipping.

Routing: ``settings`` (the owner's settings), ``geo`` (offline
coordinates and distances), ``rates`` (rate tables), ``rules`` (routing
rules) and ``scoring`` (the warehouse or split for an order).

After routing: ``batches`` (pick batches), ``documents`` (records mapped
onto the document dataclasses), ``packing`` (pack sessions and scans),
``shipping`` (a bought label recorded as a shipment), ``email`` (the
tracking e-mail) and ``queries`` (read models for the window).

This package file imports none of them, so that ``app.core.routing`` can
import ``scoring`` without loading the shipping side.
"""
