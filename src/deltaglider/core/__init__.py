"""The storage engine's core: models, bucket-format rules and the service.

Nothing here imports boto3, touches files or calls the codec directly: the
core talks to the ports in :mod:`deltaglider.ports`.
"""
