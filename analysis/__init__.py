"""Studies' analysis: aggregation over seeds, comparisons, verdicts on the claims, plots and the HTML report."""
