"""Stage 4, drift calculators: univariate per column, PCA reconstruction error, and the domain
classifier; `methods` holds the univariate method registry."""
