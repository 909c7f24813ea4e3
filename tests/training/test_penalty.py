"""The per-model penalty term added to each batch loss: weights only, by hand."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from skdl.nn.mlp import Layout
from skdl.training.steps import penalty


@pytest.mark.parametrize(("l2", "l1"), [(True, False), (False, True), (True, True)])
def test_penalty_sums_weights_not_biases_per_model(l2, l1):
    layout = Layout((3, 4, 2))
    gen = torch.Generator().manual_seed(0)
    params = torch.randn(3, layout.n_params, generator=gen, dtype=torch.float64)
    a2 = torch.tensor([0.1, 0.0, 2.0], dtype=torch.float64)
    a1 = torch.tensor([0.3, 1.0, 0.0], dtype=torch.float64)
    ctx = SimpleNamespace(
        layout=layout,
        alpha_l2=a2.view(-1, 1, 1) if l2 else None,
        alpha_l1=a1.view(-1, 1) if l1 else None,
    )
    got = penalty(ctx, params).numpy()
    for k in range(3):
        ws = [w[k].numpy() for w in layout.weights(params)]
        want = 0.0
        if l2:
            want += 0.5 * a2[k].item() * sum(float((w**2).sum()) for w in ws)
        if l1:
            want += a1[k].item() * sum(float(np.abs(w).sum()) for w in ws)
        np.testing.assert_allclose(got[k], want, rtol=1e-12)
    # the biases take no part: changing them leaves the penalty as it was
    for b in layout.biases(params):
        b.add_(5.0)
    np.testing.assert_allclose(penalty(ctx, params).numpy(), got, rtol=1e-12)
