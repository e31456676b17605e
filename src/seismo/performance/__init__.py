"""Stage 4, performance calculators: realized performance from labels, and its label-free
estimates (CBPE for classifiers, DLE for regressors, PAPE under covariate shift), with the
models, calibration and trust diagnostics behind them."""
