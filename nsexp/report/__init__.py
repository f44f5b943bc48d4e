"""Everything for people: number formatting, tables, Markdown and JSON of a readout."""
