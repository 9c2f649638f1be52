"""Published numbers the notebooks show next to their own, with their sources.

``source`` says where a number was read: "paper" (in the cited paper itself) or "secondary" (quoted
from reviews or summaries of the paper and not yet checked against its PDF: treat as approximate).
Derived baselines are marked as such.
"""

DYSTRESS = [
    # setting, metric, SimCLR, MACL, DySTreSS, note, source
    {"setting": "CIFAR-10, ResNet-18, 200 epochs", "metric": "200-NN top-1", "SimCLR": 83.65, "MACL": 84.85,
     "DySTreSS": 85.68, "note": "SimCLR derived from the quoted gain", "source": "secondary"},
    {"setting": "CIFAR-100, ResNet-18, 200 epochs", "metric": "200-NN top-1", "SimCLR": 52.32, "MACL": 56.15,
     "DySTreSS": 56.57, "note": "SimCLR derived from the quoted gain", "source": "secondary"},
    {"setting": "ImageNet-100, ResNet-50, 200 epochs", "metric": "linear top-1", "SimCLR": 75.54, "MACL": 78.28,
     "DySTreSS": 78.78, "note": "DySTreSS* (shifted function) 78.82; SimCLR derived", "source": "secondary"},
    {"setting": "ImageNet-1K, ResNet-50, batch 256, 100 epochs", "metric": "linear top-1", "SimCLR": 63.2,
     "MACL": 64.3, "DySTreSS": 65.21, "note": "baselines from lightly's table: DCL 65.1, DCLW 64.5",
     "source": "secondary"},
]

DYSTRESS_LONG_TAIL = [
    {"setting": "CIFAR-10-LT, 2000 epochs", "Kukleva": 62.91, "DySTreSS": 64.98, "source": "secondary"},
    {"setting": "CIFAR-100-LT, 2000 epochs", "Kukleva": 30.20, "DySTreSS": 31.71, "source": "secondary"},
]

DYSTRESS_ABLATIONS = [
    {"ablation": "shape of tau(s), CIFAR-10 200-NN", "values": "cosine / linear / exponential: all about 85.7-85.9",
     "source": "secondary"},
    {"ablation": "tau range, ImageNet-100 linear", "values": "(0.07, 0.1): 77.28; (0.1, 0.2): 78.76",
     "source": "secondary"},
]

# Wang & Liu (CVPR 2021), Table 1: InstDisc memory bank, ResNet-18, 200 epochs; linear top-1,
# -uniformity and tolerance at tau = 0.07 / 0.3 / 0.7 / 1.0, and the simple and hard losses.
WANG_LIU_TAUS = (0.07, 0.3, 0.7, 1.0)
WANG_LIU = {
    "CIFAR-10": {
        "acc": {"contrastive": (79.75, 83.27, 82.69, 82.21), "simple": 74.83, "hard": (79.2, 83.63, 84.19, 84.19)},
        "neg_uniformity": {"contrastive": (3.86, 3.60, 3.17, 2.96), "simple": 1.68, "hard": (3.88, 3.89, 3.87, 3.86)},
        "tolerance": {"contrastive": (0.04, 0.178, 0.333, 0.372), "simple": 0.61,
                      "hard": (0.034, 0.0267, 0.030, 0.030)},
    },
    "CIFAR-100": {
        "acc": {"contrastive": (51.82, 56.44, 50.99, 48.33), "simple": 39.31, "hard": (50.77, 56.55, 57.54, 56.77)},
        "neg_uniformity": {"contrastive": (3.86, 3.60, 3.18, 2.96), "simple": 2.12, "hard": (3.87, 3.88, 3.87, 3.86)},
        "tolerance": {"contrastive": (0.10, 0.269, 0.331, 0.343), "simple": 0.39, "hard": (0.088, 0.124, 0.158, 0.172)},
    },
}
WANG_LIU_SOURCE = "paper"
# Wang & Liu's hard loss keeps the 4,095 nearest of 50,000 negatives on CIFAR: the quantile alpha (paper)
WANG_LIU_HARD_QUANTILE = 0.0819

# For orientation: SimCLR, ResNet-18, CIFAR-10, kNN (k = 200) after 200 epochs in lightly's benchmark.
LIGHTLY_SIMCLR_CIFAR10 = {"batch 128": 84.7, "batch 512": 84.8, "800 epochs, batch 512": 87.9}

# Sentence embeddings: unsupervised SimCSE from BERT-base (bert-base-uncased) on wiki1m, one epoch; the average
# Spearman x 100 over STS12-16, STS-B and SICK-R ("all" setting).
SENTENCES = [
    {"setting": "DySTreSS paper, SimCSE setting", "numbers": {"SimCSE": 74.62, "DySTreSS": 76.37},
     "source": "secondary"},
    {"setting": "SimCSE paper (Gao et al. 2021), unsupervised SimCSE-BERT-base", "numbers": {"SimCSE": 76.25},
     "source": "paper"},
    {"setting": "MACL's repository, SimCSE-BERT-base", "numbers": {"SimCSE": 76.25, "MACL": 76.66},
     "source": "secondary"},
]

# The works the notebooks cite, for the book's references page: (short name, authors, year, title, venue, link)
REFERENCES = [
    ("DySTreSS", "Manna et al.", 2023, "DySTreSS: Dynamically Scaled Temperature in Self-Supervised Contrastive "
     "Learning", "arXiv 2308.01140", "https://arxiv.org/abs/2308.01140"),
    ("Wang & Liu", "Wang and Liu", 2021, "Understanding the Behaviour of Contrastive Loss", "CVPR 2021",
     "https://arxiv.org/abs/2012.09740"),
    ("Wang & Isola", "Wang and Isola", 2020, "Understanding Contrastive Representation Learning through Alignment "
     "and Uniformity on the Hypersphere", "ICML 2020", "https://arxiv.org/abs/2005.10242"),
    ("SimCLR", "Chen et al.", 2020, "A Simple Framework for Contrastive Learning of Visual Representations",
     "ICML 2020", "https://arxiv.org/abs/2002.05709"),
    ("MoCo", "He et al.", 2020, "Momentum Contrast for Unsupervised Visual Representation Learning", "CVPR 2020",
     "https://arxiv.org/abs/1911.05722"),
    ("DCL", "Yeh et al.", 2022, "Decoupled Contrastive Learning", "ECCV 2022", "https://arxiv.org/abs/2110.06848"),
    ("MACL", "Huang et al.", 2023, "Model-Aware Contrastive Learning: Towards Escaping the Dilemmas", "ICML 2023",
     "https://arxiv.org/abs/2207.07874"),
    ("Kukleva et al.", "Kukleva et al.", 2023, "Temperature Schedules for Self-Supervised Contrastive Methods on "
     "Long-Tail Data", "ICLR 2023", "https://arxiv.org/abs/2303.13664"),
    ("iSogCLR", "Qiu et al.", 2023, "Not All Semantics are Created Equal: Contrastive Self-supervised Learning with "
     "Automatic Temperature Individualization", "ICML 2023", "https://arxiv.org/abs/2305.11965"),
    ("SimCSE", "Gao et al.", 2021, "SimCSE: Simple Contrastive Learning of Sentence Embeddings", "EMNLP 2021",
     "https://arxiv.org/abs/2104.08821"),
]
