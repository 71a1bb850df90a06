"""Points per check, in one place. The order here is the order of the report."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CheckSpec:
    name: str
    tag: str  # the judged object, exactly as the student names it (Gradescope's tags[0])
    points: float


def _table(*rows: tuple[str, str, float]) -> tuple[CheckSpec, ...]:
    return tuple(CheckSpec(name, tag, points) for name, tag, points in rows)


POINTS: dict[str, tuple[CheckSpec, ...]] = {
    "xor": _table(
        ("dataset_length", "XORDataset", 3),
        ("dataset_item_types", "XORDataset", 4),
        ("dataset_labels_are_xor", "XORDataset", 4),
        ("dataset_all_corners", "XORDataset", 3),
        ("dataset_noise_std", "XORDataset", 3),
        ("dataset_dataloader_batches", "XORDataset", 3),
        ("model_parameter_shapes", "ClasificadorSimple", 5),
        ("model_hidden_activation", "ClasificadorSimple", 3),
        ("model_forward_matches_reference", "ClasificadorSimple", 7),
        ("model_gradients_match_reference", "ClasificadorSimple", 5),
        ("train_model_matches_reference", "train_model", 15),
        ("eval_model_returns_accuracy", "eval_model", 8),
        ("eval_model_eval_mode_no_grad", "eval_model", 3),
        ("eval_model_keeps_parameters", "eval_model", 2),
        ("eval_model_prints_accuracy", "eval_model", 2),
        ("visualize_samples_scatter_per_class", "visualize_samples", 5),
        ("state_dict_saved_to_file", "state_dict", 4),
        ("state_dict_loaded_into_new_model", "state_dict", 4),
        ("state_dict_loads_into_reference", "state_dict", 2),
        ("end_to_end_accuracy", "end_to_end", 15),
    ),
    "backprop": _table(
        ("sigmoid_matches_reference", "sigmoid", 7),
        ("sigmoid_prime_matches_reference", "sigmoid_prime", 10),
        ("mse_loss_matches_reference", "mse_loss", 6),
        ("mse_loss_grad_matches_reference", "mse_loss_grad", 7),
        ("output_delta_matches_reference", "output_delta", 12),
        ("hidden_delta_matches_reference", "hidden_delta", 12),
        ("layer_gradients_weight_gradient", "layer_gradients", 6),
        ("layer_gradients_bias_gradient", "layer_gradients", 6),
        ("backprop_gradient_keys_and_shapes", "backprop", 5),
        ("backprop_matches_reference", "backprop", 10),
        ("backprop_matches_finite_differences", "backprop", 5),
        ("backprop_training_reaches_accuracy", "backprop_training", 14),
    ),
}


def checks_of(assignment: str) -> tuple[CheckSpec, ...]:
    return POINTS[assignment]
