"""django-ogc-sensorthings (PyPI), a SensorThings 1.1 server written by others, run for the tests.

``dataset.py`` is the seeded data (pure Python: the server's seed script and the tests both read
it), ``settings.py``/``urls.py``/``seed.py`` run inside the server's own venv, ``server.py``
makes that venv, seeds a SQLite database and starts and stops the server (host side).
"""
