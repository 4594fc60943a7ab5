"""`scalesim fit` reads an experiment output directory written by the run store."""

import numpy as np

from scalesim.cli import main
from scalesim.fit.tabular import read_ndl
from scalesim.store import save_run


def test_fit_reads_store_layout(tmp_path, capsys):
    rng = np.random.default_rng(0)
    out = tmp_path / "exp"
    i = 0
    for n in np.geomspace(1e6, 1e9, 6):
        for d in np.geomspace(1e8, 1e11, 6):
            loss = 1.7 + 400 * n**-0.34 + 2000 * d**-0.37
            save_run(out / "runs" / f"p{i:03d}", {"point": {"N": float(n), "D": float(d)}, "settings": {"seeds": 4}},
                     {"L": float(loss * np.exp(1e-4 * rng.standard_normal()))}, {})
            i += 1
    N, D, L, C = read_ndl(out)  # the experiment directory itself, not out/runs
    assert N.shape == (36,) and np.all(L > 1.7)
    assert main(["fit", str(out), "--method", "vpnls", "--n-boot", "0", "--json"]) == 0
    import json

    res = json.loads(capsys.readouterr().out)
    assert abs(res["params"]["alpha"] - 0.34) < 0.02 and abs(res["params"]["beta"] - 0.37) < 0.02
