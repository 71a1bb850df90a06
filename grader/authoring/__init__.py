"""Tools for instructors: exercises are made from the reference notebooks, never edited by hand."""
