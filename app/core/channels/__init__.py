"""Channel sync services: accounts, listings, buffers, order import, the queue.

The package is split by concept and this file imports nothing, so that
``app.core.outbox`` can import :func:`buffers.visible_quantity` while order
capture is still being imported. Import from the submodules:

- ``accounts``: connect and configure a channel, its cursor and rates.
- ``listings``: the channel's products, SKU matching and mapping.
- ``buffers``: what each channel is shown, fixed and automatic buffers.
- ``order_import``: a channel order in, as a capture or as a delta.
- ``queue``: claiming, coalescing and settling outbox rows.
- ``issues``: the sync exceptions queue and the sync log.
- ``status``: sync runs and each channel's state for the window and CLI.

Nothing here sends a request; ``app.sync`` does the HTTP and calls these.
"""
