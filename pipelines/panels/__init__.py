"""Real development panels, built offline from data that ships inside registry packages.

``pipelines.panels.nkill``: deaths in terrorist incidents by country and year.
"""
