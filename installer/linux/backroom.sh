#!/bin/sh
# Start Backroom from its bundle in /opt/backroom; arguments pass through
# (`backroom selftest`, `backroom backup`, ...).
exec /opt/backroom/backroom "$@"
