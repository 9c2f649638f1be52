"""The notebook pipeline: compute-or-load, the recipes of notebooks 04-08, notebook parameters, papermill
execution, figures, the run summary and the published numbers."""
