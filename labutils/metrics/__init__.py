"""Measurements of trained models, and the metrics files that record them.

Pure measurements on tensors and models: nothing here trains. `lab.metrics.X` reaches every name
below; the GAN's image distances are in `lab.metrics.images`, the verdicts on the reports' claims
in `lab.metrics.verdicts`.
"""
from labutils.metrics import images, verdicts
from labutils.metrics.classifier_scores import class_balance_entropy, class_confidence, class_entropy, classify
from labutils.metrics.frechet import frechet_distance, frechet_distance_from_moments
from labutils.metrics.latent import (ACTIVE_UNIT_THRESHOLD, active_units, encode_dataset, knn_accuracy,
                                     linear_probe_accuracy, silhouette, structure_table)
from labutils.metrics.likelihood import (elbo, gaussian_decoder_constant, importance_log_weights, iwae_bound,
                                         iwae_log_likelihood, reconstruction_mse)
from labutils.metrics.records import read_metrics, save_metrics
from labutils.metrics.trends import trend

__all__ = [
    "images", "verdicts", "class_balance_entropy", "class_confidence", "class_entropy", "classify",
    "frechet_distance", "frechet_distance_from_moments",
    "ACTIVE_UNIT_THRESHOLD", "active_units", "encode_dataset", "knn_accuracy", "linear_probe_accuracy",
    "silhouette", "structure_table",
    "elbo", "gaussian_decoder_constant", "importance_log_weights", "iwae_bound", "iwae_log_likelihood",
    "reconstruction_mse", "read_metrics", "save_metrics", "trend",
]
