"""The embedding map (issue 24): every image's features stored with the run (``store``),
their 2-D map (``projection``) and "more like this" (``similar``)."""
