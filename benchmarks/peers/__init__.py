"""Peer forecasters (mlforecast, statsforecast), run in their own environment on our folds."""
