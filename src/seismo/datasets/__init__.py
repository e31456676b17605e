"""Seeded synthetic demo data; nothing is downloaded.

Each loader trains a small LightGBM model on a private training sample, scores a
reference period (first half of 2024) and an analysis period (second half of
2024) with it, and returns ``(reference, analysis, analysis_targets)``:

* ``reference``: ``id``, ``timestamp``, the features, the target and the model
  outputs;
* ``analysis``: the same without the target;
* ``analysis_targets``: ``id`` and the target of the analysis rows (labels that
  arrive later), to be joined on ``id``.

The first half of every analysis is drawn exactly like the reference; from
2024-10-01 (row ``n_analysis // 2``) each data set but the last one below
carries a covariate shift that hurts the model, and all but the campaign data
also a virtual drift that does not, missing values appearing in one column and
a new category in another. The module docstring of each generator tells its
story:

* :func:`load_synthetic_credit` (:mod:`seismo.datasets.credit`): binary loan
  default, realized ROC AUC drops.
* :func:`load_synthetic_campaign` (:mod:`seismo.datasets.campaign`): binary
  loan default with a segment story: a web campaign in region east brings
  thin-file customers the model is unsure of; that segment's accuracy and ROC
  AUC fall, the other regions' do not, the overall ROC AUC only a little.
* :func:`load_synthetic_churn` (:mod:`seismo.datasets.churn`): 3-class churn,
  macro one-vs-rest ROC AUC drops.
* :func:`load_synthetic_house_prices` (:mod:`seismo.datasets.house_prices`):
  regression, the model starts to overprice.

One data set tells a different story: its inputs never drift, its concept does.

* :func:`load_synthetic_house_market` (:mod:`seismo.datasets.house_market`):
  the same price model; from 2024-10-01 interest rates rise and large or
  far-away homes lose 10 to 15% of their value. Realized MAE rises by about a
  quarter while no feature drifts and a label-free estimate stays put: concept
  shift (`seismo.ConceptShift`).
"""

from seismo.datasets.campaign import load_synthetic_campaign
from seismo.datasets.churn import load_synthetic_churn
from seismo.datasets.credit import load_synthetic_credit
from seismo.datasets.house_market import load_synthetic_house_market
from seismo.datasets.house_prices import load_synthetic_house_prices

__all__ = [
    "load_synthetic_campaign",
    "load_synthetic_churn",
    "load_synthetic_credit",
    "load_synthetic_house_market",
    "load_synthetic_house_prices",
]
