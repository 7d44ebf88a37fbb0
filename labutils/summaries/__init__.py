"""The text and tables the notebooks show, built from their measurements: tested functions returning
DataFrames or Markdown, so a notebook's code cells hold no text templates."""
