"""Indicator datasets: site assessments, location assessments and indices of any DTM operation.

A dataset is one imported file (country, component, round or period, unit of observation: site
or location) with a catalogue of its columns and one row per observation; its columns are
aggregated per admin level by their rules. See docs/datasets.md.

read.py (file -> cells) -> catalogue.py (what each column is) -> parse.py (values) ->
store.py (the tables' writes: stage, place, aggregate, log) -> publish.py, ogc.py, api.py (reads).
"""
