"""The base layer: what every package of the house uses and nothing of the application.

``boundaries/``, ``tiles/`` and ``styles/`` import only this of ``service/``. It imports no
other module of ``service/``.
"""
