"""Building blocks of the synthetic cross-border world (see :mod:`pipelines.simulate`)."""
