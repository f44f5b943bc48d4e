"""From sufficient statistics to judged results: settings, the result model, verdicts, reasons."""
