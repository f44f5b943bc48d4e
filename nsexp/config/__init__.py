"""What the user declares: the metric catalog, the experiments and where the rows live."""
