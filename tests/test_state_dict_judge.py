"""The state_dict checks judge objects the notebook's own cells made (``model``, ``new_model``, the
file saved), whose weights follow the random state those cells ran in: seeded by grade submit,
as the student's kernel left it for check(). Their verdicts, messages included, must not depend
on those weights, or check() and grade submit disagree (tests/test_selfcheck_agreement.py);
kernel-free here, for the mistakes that leave weights neither trained nor loaded."""

from __future__ import annotations

import io
import os

import pytest
import torch

from grader.trusted.artifacts import Artifact
from grader.trusted.judges.xor.model import REFERENCE_SHAPES, reference_forward
from grader.trusted.judges.xor.verdicts.state_dict import SAVED_STATE_FILE, judge_state_dict
from grader.trusted.records import RecordFolder

X = torch.randn(16, 2, generator=torch.Generator().manual_seed(0))


def _weights(generator: torch.Generator) -> dict[str, torch.Tensor]:
    return {name: torch.randn(shape, generator=generator) for name, shape in REFERENCE_SHAPES.items()}


def _artifact(folder, model, new_model, saved) -> Artifact:
    """The state_dict probe's record of a notebook with these three states."""
    buffer = io.BytesIO()
    torch.save(saved, buffer)
    (folder / SAVED_STATE_FILE).write_bytes(buffer.getvalue())
    tensors = {**{f"model.{k}": v for k, v in model.items()}, **{f"new_model.{k}": v for k, v in new_model.items()},
               "model_pred": reference_forward(model, X), "new_model_pred": reference_forward(new_model, X)}
    values = {"model_keys": list(model), "new_model_kind": "ClasificadorSimple", "file": "mi_modelo.tar",
              "file_bytes": len(buffer.getvalue())}
    return Artifact("state_dict", RecordFolder.made(folder, frozenset({os.geteuid()})), ok=True, values=values,
                    tensors=tensors)


# (name, how the notebook's three states relate: trained is `model`'s, fresh a model never trained)
MISTAKES = {
    "forgets_load_state_dict": lambda trained, fresh: (trained, fresh, trained),
    "saves_untrained_state": lambda trained, fresh: (trained, fresh, fresh),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_the_verdicts_do_not_depend_on_the_notebooks_random_weights(mistake, tmp_path):
    structure = Artifact("model_structure", ok=True,
                         values={"parameters": [[[n, list(s)] for n, s in REFERENCE_SHAPES.items()]]})
    found = []
    for seed in (1, 2):  # two kernels' random states
        generator = torch.Generator().manual_seed(seed)
        model, new_model, saved = MISTAKES[mistake](_weights(generator), _weights(generator))
        (tmp_path / str(seed)).mkdir()
        artifact = _artifact(tmp_path / str(seed), model, new_model, saved)
        found.append(judge_state_dict(artifact, structure, {"roundtrip_x": X}, True, lambda count: None))
    assert found[0] == found[1]
    assert not all(v.passed for v in found[0])  # the mistake is still found, only not quoted in numbers
    keys = [m.key for v in found[0] for m in v.messages]
    assert "mismatch.values" not in keys and "mismatch.values_not_quoted" in keys
