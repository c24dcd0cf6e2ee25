"""Performance suite: each ``bench_*`` module prints a table of medians and ratios."""
