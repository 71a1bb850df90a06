# Probes of the XOR exercise, executed inside the student's kernel as the last module of the
# probes' bundle (see __init__.py), or imported by the student's own check() (grader.selfcheck).
# Each calls the student's objects on inputs the grader drew (inputs.pt) and records what came out.
import contextlib
import io
import os

import torch
import torch.nn as nn
import torch.utils.data as tud

from grader.untrusted.probes.common import MAX_TEXT, ProbeTimeout, entry_point, names_set, student_object


class GraderNet(nn.Module):
    """The grader's own model for judging the student's loop and evaluation (blame isolation).

    It notes, at each forward pass, the mode and whether gradients are on, so that the grader can
    see what the student's function did to it.
    """

    def __init__(self, state, kit):
        super().__init__()
        self.linear1 = nn.Linear(state["linear1.weight"].shape[1], state["linear1.weight"].shape[0])
        self.act_fn = nn.Tanh()
        self.linear2 = nn.Linear(state["linear2.weight"].shape[1], state["linear2.weight"].shape[0])
        self.load_state_dict(state)
        self.forward_calls = []
        self.grad_enabled = kit.is_grad_enabled

    def forward(self, x):
        # The grad mode from torch's C function bound before the notebook ran, the mode from the
        # instance itself: a notebook that replaces torch.is_grad_enabled or nn.Module's attribute
        # lookup does not change what is noted.
        training = object.__getattribute__(self, "training")
        grad_enabled = object.__getattribute__(self, "grad_enabled")
        self.forward_calls.append([bool(training), bool(grad_enabled())])
        return self.linear2(self.act_fn(self.linear1(x)))


class RecordingBCE(nn.BCEWithLogitsLoss):
    """The loss handed to the student's train_model: it keeps each value it returns, for the
    report's loss curve."""

    def __init__(self, limit=2000):
        super().__init__()
        self.values = []
        self.limit = limit

    def forward(self, input, target):
        loss = super().forward(input, target)
        if len(self.values) < self.limit:
            try:
                self.values.append(float(loss.detach().reshape(-1)[0]))
            except (RuntimeError, IndexError, ValueError):
                pass
        return loss


class CountingSGD(torch.optim.SGD):
    def __init__(self, params, lr):
        super().__init__(params, lr=lr)
        self.counts = {"zero_grad": 0, "step": 0}

    def zero_grad(self, set_to_none=True):
        self.counts["zero_grad"] += 1
        super().zero_grad(set_to_none=set_to_none)

    def step(self, closure=None):
        self.counts["step"] += 1
        return super().step(closure)


def describe_tensor(value):
    if isinstance(value, torch.Tensor):
        return {"kind": "tensor", "dtype": str(value.dtype).replace("torch.", ""),
                "shape": list(value.shape)}
    return {"kind": type(value).__name__}


def global_device(ns, device):
    """The notebook's global `device` set for one call, as the lecture's train_model and eval_model
    read it, and put back afterwards."""
    return names_set(ns, {"device": torch.device(device)})


def probe_dataset_shapes(tools, values, tensors, ns, inputs):
    XORDataset = student_object(ns, "XORDataset")
    values["lengths"] = [len(XORDataset(int(size))) for size in inputs["dataset_sizes"]]
    dataset = XORDataset(int(inputs["dataset_sizes"][-1]))
    values["data"] = describe_tensor(getattr(dataset, "data", None))
    values["label"] = describe_tensor(getattr(dataset, "label", None))
    item = dataset[0]
    values["item_kind"] = type(item).__name__
    values["item_len"] = len(item) if isinstance(item, (tuple, list)) else None
    if isinstance(item, (tuple, list)) and len(item) == 2:
        values["item_point"] = describe_tensor(item[0])
        values["item_label"] = describe_tensor(item[1])
        consistent = True
        for idx in (0, len(dataset) // 2, len(dataset) - 1):
            point, label = dataset[idx]
            consistent &= bool(torch.equal(torch.as_tensor(point), dataset.data[idx]))
            consistent &= bool(torch.equal(torch.as_tensor(label), dataset.label[idx]))
        values["items_match_tensors"] = consistent


def probe_dataset_samples(tools, values, tensors, ns, inputs):
    XORDataset = student_object(ns, "XORDataset")
    size = int(inputs["dataset_sample_size"])
    default = XORDataset(size)
    tensors["default_data"] = tools.cpu_tensor(default.data)
    tensors["default_label"] = tools.cpu_tensor(default.label)
    for i, std in enumerate(inputs["dataset_stds"].tolist()):
        dataset = XORDataset(size, std=std)
        tensors[f"std{i}_data"] = tools.cpu_tensor(dataset.data)
        tensors[f"std{i}_label"] = tools.cpu_tensor(dataset.label)


def probe_dataset_loader(tools, values, tensors, ns, inputs):
    XORDataset = student_object(ns, "XORDataset")
    batch = int(inputs["loader_batch_size"])
    loader = tud.DataLoader(XORDataset(int(inputs["loader_dataset_size"])), batch_size=batch, shuffle=False)
    values["batches"] = []
    for data_inputs, data_labels in loader:
        values["batches"].append([describe_tensor(data_inputs), describe_tensor(data_labels)])


def probe_model_structure(tools, values, tensors, ns, inputs):
    ClasificadorSimple = student_object(ns, "ClasificadorSimple")
    values["parameters"] = []
    for sizes in inputs["model_sizes"].tolist():
        model = ClasificadorSimple(*sizes)
        values["parameters"].append([[name, list(p.shape)] for name, p in model.named_parameters()])
    act_fn = getattr(model, "act_fn", None)
    values["act_fn"] = type(act_fn).__name__
    if act_fn is not None:
        tensors["act_out"] = tools.cpu_tensor(act_fn(inputs["act_in"].clone()))


def probe_model_forward(tools, values, tensors, ns, inputs):
    ClasificadorSimple = student_object(ns, "ClasificadorSimple")
    values["dtypes"] = []
    for i, sizes in enumerate(inputs["model_sizes"].tolist()):
        state, x, weights = inputs[f"model{i}_state"], inputs[f"model{i}_x"], inputs[f"model{i}_r"]
        try:
            model = ClasificadorSimple(*sizes).double()
            model.load_state_dict(state, strict=True)
            out = model(x.clone())
            dtype = "float64"
        except (RuntimeError, TypeError):
            # float32 is the lecture's type: a model that only works in float32 is still judged.
            model = ClasificadorSimple(*sizes)
            model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
            out = model(x.float())
            dtype = "float32"
        values["dtypes"].append(dtype)
        tensors[f"out{i}"] = tools.cpu_tensor(out)
        (out * weights.to(out.dtype)).sum().backward()
        for name, param in model.named_parameters():
            grad = tools.cpu_tensor(param.grad) if param.grad is not None else torch.full((0,), 0.0)
            tensors[f"grad{i}.{name}"] = grad


def probe_train_loop(tools, values, tensors, ns, inputs):
    train_model = student_object(ns, "train_model")
    model = GraderNet(inputs["train_state"], tools.kit)
    optimizer = CountingSGD(model.parameters(), lr=float(inputs["train_lr"]))
    loader = tud.DataLoader(tud.TensorDataset(inputs["train_x"], inputs["train_y"]),
                            batch_size=int(inputs["train_batch_size"]), shuffle=False)
    loss = RecordingBCE()
    try:
        with global_device(ns, "cpu"):
            train_model(model, optimizer, loader, loss, num_epochs=int(inputs["train_epochs"]))
    finally:
        values["losses"] = loss.values
        values["forward_calls"] = len(model.forward_calls)
        values["optimizer_calls"] = optimizer.counts
        values["training_mode"] = [call[0] for call in model.forward_calls[:1]]
    for name, param in model.state_dict().items():
        tensors[name] = tools.cpu_tensor(param)


def _number(result):
    if isinstance(result, torch.Tensor) and result.numel() == 1:
        return float(result.item())
    if isinstance(result, (int, float)) and not isinstance(result, bool):
        return float(result)
    return None


def probe_eval(tools, values, tensors, ns, inputs):
    eval_model = student_object(ns, "eval_model")
    model = GraderNet(inputs["eval_state"], tools.kit)
    model.train()
    loader = tud.DataLoader(tud.TensorDataset(inputs["eval_x"], inputs["eval_y"]),
                            batch_size=int(inputs["eval_batch_size"]), shuffle=False)
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer), global_device(ns, "cpu"):
            result = eval_model(model, loader)
    finally:
        values["printed"] = buffer.getvalue()[-MAX_TEXT:]
        values["forward_calls"] = model.forward_calls[:1000]
        for name, param in model.state_dict().items():
            tensors[name] = tools.cpu_tensor(param)
    values["result_kind"] = type(result).__name__
    values["result"] = _number(result)
    # The same model on a second set: a known mistake is named only when it explains both.
    second = GraderNet(inputs["eval_state"], tools.kit)
    second.train()
    loader = tud.DataLoader(tud.TensorDataset(inputs["eval2_x"], inputs["eval2_y"]),
                            batch_size=int(inputs["eval2_batch_size"]), shuffle=False)
    values["second"] = {}
    try:
        with contextlib.redirect_stdout(io.StringIO()), global_device(ns, "cpu"):
            result = eval_model(second, loader)
        values["second"] = {"result_kind": type(result).__name__, "result": _number(result)}
    except Exception as exc:
        values["second"] = {"error": tools.describe_exception(exc)}
    values["forward_calls"] += second.forward_calls[:1000]


def probe_visualize(tools, values, tensors, ns, inputs):
    import matplotlib.pyplot as plt
    import numpy
    from matplotlib.collections import PathCollection

    visualize_samples = student_object(ns, "visualize_samples")
    plt.close("all")
    try:
        visualize_samples(inputs["viz_data"].clone(), inputs["viz_label"].clone())
        count = 0
        for number in plt.get_fignums():
            for axes in plt.figure(number).axes:
                for collection in axes.collections:
                    if isinstance(collection, PathCollection):
                        offsets = numpy.asarray(collection.get_offsets(), dtype=numpy.float64)
                        tensors[f"scatter{count}"] = torch.from_numpy(offsets.copy())
                        count += 1
        values["figures"] = len(plt.get_fignums())
        values["scatter_sets"] = count
    finally:
        plt.close("all")


def _predict(tools, model, x):
    parameter = next(model.parameters())
    with torch.no_grad():
        return tools.cpu_tensor(model(x.to(device=parameter.device, dtype=parameter.dtype)))


def probe_state_dict(tools, values, tensors, ns, inputs):
    x = inputs["roundtrip_x"]
    model = ns.get("model")
    if isinstance(model, nn.Module):
        values["model_keys"] = list(model.state_dict())
        for name, param in model.state_dict().items():
            tensors["model." + name] = tools.cpu_tensor(param)
        tensors["model_pred"] = _predict(tools, model, x)
    new_model = ns.get("new_model")
    values["new_model_kind"] = type(new_model).__name__ if new_model is not None else None
    if isinstance(new_model, nn.Module):
        for name, param in new_model.state_dict().items():
            tensors["new_model." + name] = tools.cpu_tensor(param)
        tensors["new_model_pred"] = _predict(tools, new_model, x)
    values["file"] = None
    names = ["mi_modelo.tar"] + sorted(
        (f for f in os.listdir(".") if f.endswith((".tar", ".pt", ".pth")) and os.path.isfile(f)),
        key=os.path.getmtime, reverse=True)
    for name in names:
        if os.path.isfile(name):
            values["file"] = name
            values["file_bytes"] = os.path.getsize(name)
            if values["file_bytes"] <= 16 * 2**20:
                with tools.kit.open(name, "rb") as source:
                    tools.write_bytes("saved_state_dict.bin", source.read(16 * 2**20 + 1))
            break


SHUFFLES = 7


def probe_end_to_end(tools, values, tensors, ns, inputs):
    """The lecture's training run with the student's three pieces. Besides the trained model's
    state and predictions, the predictions of the same model with the weights it had before
    training and with its trained weights shuffled: the grader counts predictions made in this
    kernel only when those score near chance (predictions that come from the points alone, or from
    something other than the trained weights, do not)."""
    names = ["XORDataset", "ClasificadorSimple", "train_model"]
    XORDataset, ClasificadorSimple, train_model = (student_object(ns, n) for n in names)
    device = str(inputs["device"])
    # The points as a plain tensor, recorded: the grader checks that these were the points predicted
    # (a notebook that patched torch.load could have handed the probe others).
    tensors["test_x"] = tools.cpu_tensor(inputs["test_x"])
    test_x = tensors["test_x"].to(device)
    train_dataset = XORDataset(size=2500)
    loader = tud.DataLoader(train_dataset, batch_size=128, shuffle=True)
    model = ClasificadorSimple(num_inputs=2, num_hidden=4, num_outputs=1).to(device)
    for name, param in model.state_dict().items():
        tensors["initial." + name] = tools.cpu_tensor(param)
    with torch.no_grad():
        tensors["initial_logits"] = tools.cpu_tensor(model(test_x))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = RecordingBCE(limit=4000)
    try:
        with global_device(ns, device):
            train_model(model, optimizer, loader, loss, num_epochs=100)
    finally:
        values["losses"] = loss.values
    model.eval()
    for name, param in model.state_dict().items():
        tensors["state." + name] = tools.cpu_tensor(param)
    with torch.no_grad():
        tensors["logits"] = tools.cpu_tensor(model(test_x))
        tensors["grid_logits"] = tools.cpu_tensor(model(inputs["grid_x"].to(device)))
        generator = torch.Generator().manual_seed(int(inputs["seed"]))
        trained = [param.detach().clone() for param in model.parameters()]
        for index in range(SHUFFLES):
            for param, value in zip(model.parameters(), trained):
                flat = value.reshape(-1)
                order = torch.randperm(flat.numel(), generator=generator).to(flat.device)
                param.copy_(flat[order].view_as(param))
            tensors[f"shuffled_logits.{index}"] = tools.cpu_tensor(model(test_x))


@contextlib.contextmanager
def devices_pointing_at(ns, function, device):
    """The globals ``function`` reads that hold a device (the lecture's `device`, or a name of the
    student's own) set to ``device`` for one call; ``.cuda()`` and ``torch.cuda.is_available()``
    made to lead there too, so that code that moves its data with ``.cuda()`` when CUDA is there
    moves it to ``device``."""
    names = set()
    stack = [getattr(function, "__code__", None)]
    while stack:
        code = stack.pop()
        if code is None:
            continue
        names.update(code.co_names)
        stack += [c for c in code.co_consts if hasattr(c, "co_names")]
    held = {n for n in names if n in ns and (isinstance(ns[n], torch.device) or (
        isinstance(ns[n], str) and ns[n].split(":")[0] in ("cpu", "cuda", "mps")))}
    patched = [(torch.Tensor, "cuda"), (nn.Module, "cuda"), (torch.cuda, "is_available")]
    originals = [getattr(owner, name) for owner, name in patched]
    try:
        with names_set(ns, dict.fromkeys(held | {"device"}, device)):
            torch.Tensor.cuda = lambda self, *args, **kwargs: self.to(device)
            nn.Module.cuda = lambda self, *args, **kwargs: self.to(device)
            torch.cuda.is_available = lambda: True
            yield
    finally:
        for (owner, name), original in zip(patched, originals):
            setattr(owner, name, original)


def _with_device_argument(function, device):
    """A ``device=`` parameter of the student's own is given the device too."""
    import inspect

    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return {}
    return {"device": device} if "device" in parameters else {}


def probe_device_moves(tools, values, tensors, ns, inputs):
    """train_model and eval_model once more, with the global `device` pointing at torch's `meta`
    device, where the grader's model is too: a batch left on the CPU then meets meta parameters
    and raises, as it meets CUDA parameters on a GPU. Other errors of meta tensors (`.item()`,
    `.cpu()` have no data to give) say nothing about moves; the grader tells them apart."""
    meta = torch.device("meta")
    x, y = inputs["train_x"], inputs["train_y"]
    size = int(inputs["train_batch_size"])
    loader = tud.DataLoader(tud.TensorDataset(x[: 2 * size], y[: 2 * size]), batch_size=size, shuffle=False)
    for name in ("train_model", "eval_model"):
        function = ns.get(name)
        if not callable(function):
            values[name] = {"ran": False}
            continue
        model = GraderNet(inputs["train_state"], tools.kit).to(meta)
        extra = _with_device_argument(function, meta)
        try:
            with devices_pointing_at(ns, function, meta), contextlib.redirect_stdout(io.StringIO()):
                if name == "train_model":
                    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
                    function(model, optimizer, loader, nn.BCEWithLogitsLoss(), num_epochs=1, **extra)
                else:
                    function(model, loader, **extra)
            values[name] = {"ran": True}
        except ProbeTimeout:  # the probe's time is up, stop here
            raise
        except Exception as exc:
            values[name] = {"ran": True, "error": tools.describe_exception(exc)}


PROBES = {
    "dataset_shapes": probe_dataset_shapes,
    "dataset_samples": probe_dataset_samples,
    "dataset_loader": probe_dataset_loader,
    "model_structure": probe_model_structure,
    "model_forward": probe_model_forward,
    "train_loop": probe_train_loop,
    "eval": probe_eval,
    "visualize": probe_visualize,
    "state_dict": probe_state_dict,
    "end_to_end": probe_end_to_end,
    "device_moves": probe_device_moves,
}
main = entry_point(PROBES)
