# The functions of the backprop exercise computed by torch.autograd from their definitions (the
# sigmoid, the loss, a layer's affine map), never from the formulas the student writes. The judge
# checks the reference against them; inside the kernel they stand in for the student's helpers
# while another function is judged, so the kernel never receives the solution.
import torch

# Bound when this code is loaded: in the kernel, a notebook that replaces torch.autograd.grad
# afterwards does not change the oracles.
_AUTOGRAD_GRAD = torch.autograd.grad


def _vjp(function, inputs, cotangent):
    leaves = tuple(torch.as_tensor(t).detach().requires_grad_(True) for t in inputs)
    with torch.enable_grad():
        output = function(*leaves)
        return _AUTOGRAD_GRAD(output, leaves, torch.as_tensor(cotangent).to(output.dtype))


def oracle_sigmoid(z):
    return torch.sigmoid(torch.as_tensor(z))


def oracle_mse_loss(a, y):
    a, y = torch.as_tensor(a), torch.as_tensor(y)
    return 0.5 * torch.sum((y - a) ** 2)


def oracle_sigmoid_prime(z):
    z = torch.as_tensor(z)
    return _vjp(torch.sigmoid, (z,), torch.ones_like(z))[0]


def oracle_mse_loss_grad(a, y):
    y = torch.as_tensor(y)
    return _vjp(lambda out: oracle_mse_loss(out, y), (a,), 1.0)[0]


def oracle_output_delta(z_L, a_L, y):
    y = torch.as_tensor(y)
    return _vjp(lambda z: oracle_mse_loss(torch.sigmoid(z), y), (z_L,), 1.0)[0]


def oracle_hidden_delta(W_next, delta_next, z):
    W_next = torch.as_tensor(W_next)
    return _vjp(lambda z_l: torch.sigmoid(z_l) @ W_next.T, (z,), delta_next)[0]


def oracle_layer_gradients(delta, a_prev):
    delta, a_prev = torch.as_tensor(delta), torch.as_tensor(a_prev)
    weight = torch.zeros(delta.shape[-1], a_prev.shape[-1], dtype=a_prev.dtype)
    bias = torch.zeros(delta.shape[-1], dtype=a_prev.dtype)
    dW, db = _vjp(lambda w, b: a_prev @ w.T + b, (weight, bias), delta)
    return dW, db


def network_loss(params, x, y):
    """The loss of the exercise's two-layer sigmoid network."""
    hidden = torch.sigmoid(x @ params["W1"].T + params["b1"])
    return oracle_mse_loss(torch.sigmoid(hidden @ params["W2"].T + params["b2"]), y)


def oracle_backprop(params, x, y):
    names = ("W1", "b1", "W2", "b2")
    grads = _vjp(lambda *p: network_loss(dict(zip(names, p)), x, y), tuple(params[n] for n in names), 1.0)
    return dict(zip(names, grads))


ORACLES = {
    "sigmoid": oracle_sigmoid,
    "sigmoid_prime": oracle_sigmoid_prime,
    "mse_loss": oracle_mse_loss,
    "mse_loss_grad": oracle_mse_loss_grad,
    "output_delta": oracle_output_delta,
    "hidden_delta": oracle_hidden_delta,
    "layer_gradients": oracle_layer_gradients,
    "backprop": oracle_backprop,
}
