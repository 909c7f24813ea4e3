import numpy as np
import pytest
import torch

from skdl.nn.activations import ACTIVATIONS
from skdl.nn.rows import ROW_ACTIVATIONS


@pytest.mark.parametrize("name", sorted(ROW_ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numpy_twin_equals_torch(name, dtype):
    z = (np.random.RandomState(0).randn(7, 50) * 30).astype(dtype)
    p = ACTIVATIONS[name].default_param
    ref = (
        ACTIVATIONS[name]
        .forward(
            torch.as_tensor(z.copy()),
            None
            if p is None
            else torch.tensor(p, dtype=torch.float64 if dtype == np.float64 else torch.float32),
        )
        .numpy()
    )
    got = ROW_ACTIVATIONS[name](z.copy(), p)
    np.testing.assert_allclose(got, ref, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-30)
