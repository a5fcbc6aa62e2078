"""Human evaluation: blind side-by-side sheets out (``export``), judgments in (``import``)."""
