"""BibTeX for the papers behind scalesim's models, theory and experiments.

``scalesim.citation(x)`` accepts an experiment name, a family name, a paper key, an
:class:`~scalesim.experiments.base.Experiment`, a family record or a module that defines
``PAPERS`` (a tuple of keys of :data:`BIBTEX`), and returns the BibTeX entries, scalesim's own
first. ``scalesim run NAME --cite`` prints the same.
"""

from __future__ import annotations

__all__ = ["BIBTEX", "citation", "paper_keys"]

BIBTEX: dict[str, str] = {
    "scalesim": """@software{scalesim,
  title = {scalesim: a differentiable scaling simulator},
  author = {{The scalesim developers}},
  year = {2026},
  version = {0.1.0},
  note = {JAX library; see CITATION.cff}
}""",
    "liu2025superposition": """@article{liu2025superposition,
  title = {Superposition Yields Robust Neural Scaling},
  author = {Liu, Yizhou and Liu, Ziming and Gore, Jeff},
  journal = {arXiv preprint arXiv:2505.10465},
  year = {2025}
}""",
    "elhage2022toy": """@article{elhage2022toy,
  title = {Toy Models of Superposition},
  author = {Elhage, Nelson and Hume, Tristan and Olsson, Catherine and Schiefer, Nicholas and Henighan, Tom and Kravec, Shauna and Hatfield-Dodds, Zac and Lasenby, Robert and Drain, Dawn and Chen, Carol and Grosse, Roger and McCandlish, Sam and Kaplan, Jared and Amodei, Dario and Wattenberg, Martin and Olah, Christopher},
  journal = {Transformer Circuits Thread},
  year = {2022},
  note = {arXiv:2209.10652}
}""",
    "bahri2021explaining": """@article{bahri2021explaining,
  title = {Explaining Neural Scaling Laws},
  author = {Bahri, Yasaman and Dyer, Ethan and Kaplan, Jared and Lee, Jaehoon and Sharma, Utkarsh},
  journal = {arXiv preprint arXiv:2102.06701},
  year = {2021}
}""",
    "maloney2022solvable": """@article{maloney2022solvable,
  title = {A Solvable Model of Neural Scaling Laws},
  author = {Maloney, Alexander and Roberts, Daniel A. and Sully, James},
  journal = {arXiv preprint arXiv:2210.16859},
  year = {2022}
}""",
    "paquette2024phases": """@inproceedings{paquette2024phases,
  title = {4+3 Phases of Compute-Optimal Neural Scaling Laws},
  author = {Paquette, Elliot and Paquette, Courtney and Xiao, Lechao and Pennington, Jeffrey},
  booktitle = {Advances in Neural Information Processing Systems},
  year = {2024},
  note = {arXiv:2405.15074}
}""",
    "bordelon2024dynamical": """@inproceedings{bordelon2024dynamical,
  title = {A Dynamical Model of Neural Scaling Laws},
  author = {Bordelon, Blake and Atanasov, Alexander and Pehlevan, Cengiz},
  booktitle = {International Conference on Machine Learning},
  year = {2024},
  note = {arXiv:2402.01092}
}""",
    "bordelon2020spectrum": """@inproceedings{bordelon2020spectrum,
  title = {Spectrum Dependent Learning Curves in Kernel Regression and Wide Neural Networks},
  author = {Bordelon, Blake and Canatar, Abdulkadir and Pehlevan, Cengiz},
  booktitle = {International Conference on Machine Learning},
  year = {2020},
  note = {arXiv:2002.02561}
}""",
    "atanasov2024scaling": """@article{atanasov2024scaling,
  title = {Scaling and renormalization in high-dimensional regression},
  author = {Atanasov, Alexander and Zavatone-Veth, Jacob A. and Pehlevan, Cengiz},
  journal = {arXiv preprint arXiv:2405.00592},
  year = {2024}
}""",
    "sorscher2022beyond": """@inproceedings{sorscher2022beyond,
  title = {Beyond neural scaling laws: beating power law scaling via data pruning},
  author = {Sorscher, Ben and Geirhos, Robert and Shekhar, Shashank and Ganguli, Surya and Morcos, Ari S.},
  booktitle = {Advances in Neural Information Processing Systems},
  year = {2022},
  note = {arXiv:2206.14486}
}""",
    "hoffmann2022training": """@article{hoffmann2022training,
  title = {Training Compute-Optimal Large Language Models},
  author = {Hoffmann, Jordan and Borgeaud, Sebastian and Mensch, Arthur and Buchatskaya, Elena and Cai, Trevor and Rutherford, Eliza and others},
  journal = {arXiv preprint arXiv:2203.15556},
  year = {2022}
}""",
    "besiroglu2024chinchilla": """@article{besiroglu2024chinchilla,
  title = {Chinchilla Scaling: A replication attempt},
  author = {Besiroglu, Tamay and Erdil, Ege and Barnett, Matthew and You, Josh},
  journal = {arXiv preprint arXiv:2404.10102},
  year = {2024}
}""",
    "michaud2023quantization": """@inproceedings{michaud2023quantization,
  title = {The Quantization Model of Neural Scaling},
  author = {Michaud, Eric J. and Liu, Ziming and Girit, Uzay and Tegmark, Max},
  booktitle = {Advances in Neural Information Processing Systems},
  year = {2023},
  note = {arXiv:2303.13506}
}""",
    "nam2024exactly": """@inproceedings{nam2024exactly,
  title = {An exactly solvable model for emergence and scaling laws in the multitask sparse parity problem},
  author = {Nam, Yoonsoo and Fonseca, Nayara and Lee, Seok Hyeong and Mingard, Chris and Louis, Ard A.},
  booktitle = {Advances in Neural Information Processing Systems},
  year = {2024},
  note = {arXiv:2404.17563}
}""",
    "schaeffer2023mirage": """@inproceedings{schaeffer2023mirage,
  title = {Are Emergent Abilities of Large Language Models a Mirage?},
  author = {Schaeffer, Rylan and Miranda, Brando and Koyejo, Sanmi},
  booktitle = {Advances in Neural Information Processing Systems},
  year = {2023},
  note = {arXiv:2304.15004}
}""",
    "hu2024passuntil": """@inproceedings{hu2024passuntil,
  title = {Predicting Emergent Abilities with Infinite Resolution Evaluation},
  author = {Hu, Shengding and others},
  booktitle = {International Conference on Learning Representations},
  year = {2024},
  note = {arXiv:2310.03262}
}""",
    "chen2021evaluating": """@article{chen2021evaluating,
  title = {Evaluating Large Language Models Trained on Code},
  author = {Chen, Mark and Tworek, Jerry and Jun, Heewoo and Yuan, Qiming and others},
  journal = {arXiv preprint arXiv:2107.03374},
  year = {2021}
}""",
    "brown2024monkeys": """@article{brown2024monkeys,
  title = {Large Language Monkeys: Scaling Inference Compute with Repeated Sampling},
  author = {Brown, Bradley and Juravsky, Jordan and Ehrlich, Ryan and Clark, Ronald and Le, Quoc V. and R{\\'e}, Christopher and Mirhoseini, Azalia},
  journal = {arXiv preprint arXiv:2407.21787},
  year = {2024}
}""",
    "schaeffer2025monkeys": """@inproceedings{schaeffer2025monkeys,
  title = {How Do Large Language Monkeys Get Their Power (Laws)?},
  author = {Schaeffer, Rylan and Kazdan, Joshua and others},
  booktitle = {International Conference on Machine Learning},
  year = {2025},
  note = {arXiv:2502.17578}
}""",
}


def _keys_of(obj) -> tuple:
    if isinstance(obj, str):
        if obj in BIBTEX:
            return (obj,)
        from .registry import FAMILIES, experiment

        if obj in FAMILIES:
            return FAMILIES[obj].papers
        return experiment(obj).papers  # raises ValueError naming the known names
    papers = getattr(obj, "papers", None)
    if papers is None:
        papers = getattr(obj, "PAPERS", None)
    if papers is None:
        raise ValueError(f"no papers recorded for {obj!r}: pass an experiment, family, paper key or module with PAPERS")
    return tuple(papers)


def paper_keys(*objs) -> tuple:
    """Unique paper keys of ``objs`` in first-seen order (see :func:`citation`)."""
    seen: dict[str, None] = {}
    for o in objs:
        for k in _keys_of(o):
            if k not in BIBTEX:
                raise ValueError(f"unknown paper key {k!r}; known: {', '.join(sorted(BIBTEX))}")
            seen[k] = None
    return tuple(seen)


def citation(*objs, include_scalesim: bool = True) -> str:
    """BibTeX entries for the papers behind ``objs``.

    Args:
      *objs: experiment names, family names, paper keys, ``Experiment`` objects, family
        records, or modules defining ``PAPERS``.
      include_scalesim: put scalesim's own entry first.

    Returns:
      The entries joined by blank lines.
    """
    keys = paper_keys(*objs)
    if include_scalesim and "scalesim" not in keys:
        keys = ("scalesim",) + keys
    return "\n\n".join(BIBTEX[k] for k in keys)
