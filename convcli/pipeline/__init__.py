"""The application layer: a request turned into a built layer, a run and its results, for every front end."""
