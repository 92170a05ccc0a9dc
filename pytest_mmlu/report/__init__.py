"""The numbers of a run: tallies, intervals, gates, the baseline comparison."""
