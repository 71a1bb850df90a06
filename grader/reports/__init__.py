"""Reports: the message catalogs and the renderers that turn results into text a person reads."""
