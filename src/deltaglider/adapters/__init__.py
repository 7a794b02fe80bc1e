"""Adapters: implementations of the ports (storage, codec, cache, ...)."""
