"""Transcode service: built in the transcode issue."""
