r"""The paper sentences each claim tests, verbatim, so a verdict can be read beside the words it judges.

:data:`QUOTES` maps a claim id to a list of ``{"file", "section", "text"}``: ``file`` is a file of
``/work/shared/papers`` (see its README), ``section`` says where in it, and ``text`` is copied from it
character for character (LaTeX included), so :func:`find_in_paper` finds it after collapsing
whitespace. :func:`claims.registry.run_claim` and the CLOP-claim entries put the list into the
evidence as ``evidence["quote"]``; ``tests/claims/test_quotes.py`` asserts that every claim has one
and that each text is found verbatim in its file.
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["QUOTES", "PAPER_FILES", "papers_dir", "normalise", "find_in_paper", "quotes_for"]

#: Short names of the paper files (``/work/shared/papers/README.md``).
PAPER_FILES = {
    "001": "001_a0916c72eb7a88d5.txt",
    "002": "002_0f91d6945bcaf7d5.txt",
    "003": "003_c9824515a529ad98.txt",
    "004": "004_1ce899bd4a367f4d.txt",
}


def _q(paper: str, section: str, text: str) -> dict:
    return {"file": PAPER_FILES[paper], "section": section, "text": text}


_LEMMA1 = _q("001", "Section 3.1, Lemma 1",
             r"If a function $f \in \mathcal{F}$ is trained using the InfoNCE loss, then there exist infinitely "
             r"many local minima where all embeddings produced by f are all equal or co-linear.")
_THEOREM1 = _q("001", "Section 3.1, Theorem 1, Eq. (2)",
               r"The upper bound on the learning rate μ for the gradient descent step, to minimize cosine "
               r"similarity scores between class embeddings while preventing the class embedding mean from "
               r"increasing by a ratio of $(1 + \varepsilon)$, is given by: $$(1 - \eta)^2 \leq \left(1 + "
               r"\frac{\eta}{k-1} - \frac{2\eta}{k} - 2\frac{\eta^2}{k(k-1)} + \frac{\eta^2 k}{(k-1)^2} \right) "
               r"(1 + \varepsilon)^2. \quad (2)$$ Setting $\varepsilon = 0$ guarantees a non-increasing mean, "
               r"and provides an $O(1)$ upper bound for the learning rate.")
_APPD_STEP = _q("001", "Appendix D (proof of Theorem 1)",
                r"At each step of gradient descent, every point \mathbf{x}_i moves toward the negative of the mean "
                r"of the other points with a step size η .")
_TABLE5_ROWS = _q("001", "Appendix B, Table 5",
                  "Loss Fn.\tInfoNCE\tDCL\tVICreg\tBarlowTwins Output Embeddings Accuracy\t68.91%\t88.56%\t98.64%\t"
                  "82.50% Output Embeddings (w/ CLOP) Accuracy (w/ CLOP)\t99.89%\t100%\t99.96%\t100%")
_SECTION4_SETUP = _q("001", "Section 4 (synthetic experiment)",
                     "We begin by initializing 500 input samples in a 3-dimensional space, categorized into three "
                     "distinct classes. Samples within each class are initialized within the same linear subspace, "
                     "with random Gaussian noise (mean 0, variance 0.05) added. A 3-layer Feedforward Neural Network "
                     "(FFN) is then trained following SimCLR framework.")
_SECTION4_GAIN = _q("001", "Section 4",
                    "The accuracy results further corroborate the improvement in embedding quality facilitated by CLOP.")
_SUBSPACES_002 = _q("002", "Table 2 caption (the same synthetic experiment)",
                    "The experiment initiates by generating points from three distinct rank-1 linear subspaces, each "
                    "perturbed with random Gaussian noise.")
_LR_004 = _q("004", "Key Results",
             "CLOP prevents dimensional collapse at learning rates up to 10.0 where standard InfoNCE collapses "
             "around LR≥5.0")


_ADAM_NC = _q("003", "Abstract",
              "We empirically demonstrate, for the first time, that ADAM optimization of HSCL and HUCL risks with "
              "random initialization and suitable hardness levels can indeed converge to the NC geometry if we "
              "incorporate unit-ball or unit-sphere feature normalization.")


def _table5(loss_sentence: str) -> list[dict]:
    return [_TABLE5_ROWS, _SECTION4_SETUP, _SUBSPACES_002, _q("001", "Section 4", loss_sentence), _SECTION4_GAIN]


#: Claim id -> the sentences of the papers it tests (verbatim).
QUOTES: dict[str, list[dict]] = {
    "lemma1.stationary": [
        _LEMMA1,
        _q("001", "Section 3.1 (after Lemma 1)",
           "If all embeddings are either identical or co-linear, the gradient vanishes due to the lack of angular "
           "differences, as well as the normalization process."),
    ],
    "lemma1.local_minimum": [
        _LEMMA1,
        _q("001", "Section 3 (introduction)",
           "Initially, we show that complete collapse is a local minimum for the InfoNCE loss by showing that "
           "linear embeddings result in a zero gradient (Lemma 1)."),
        _q("001", "Appendix C (headed 'PROOF OF THEOREM 1'; the proof of Lemma 1)",
           "We establish the existence of local minima in scenarios where all embeddings are identical."),
    ],
    "theorem1.expected_norm": [
        _q("001", "Appendix D (proof of Theorem 1), display after Eq. (7)",
           r"Since $\mathbb{E}[\|\mathbf{x}_i^{(0)}\|^2] = 1$, substituting equations Eq. (6) and Eq. (7) into "
           r"Eq. (5), we obtain $$\begin{aligned} \mathbb{E}[\|\mathbf{x}_i^{(1)}\|^2] &= \left(1 + "
           r"\frac{\eta}{k-1}\right)^2 + \frac{k\eta^2}{(k-1)^2} - 2\eta \frac{k}{k-1} \left(1 + "
           r"\frac{\eta}{k-1}\right) \frac{1}{k} \\ &= 1 + \frac{\eta}{k-1} - \frac{2\eta}{k} - "
           r"2\frac{\eta^2}{k(k-1)} + \frac{\eta^2 k}{(k-1)^2}. \end{aligned}$$"),
    ],
    "theorem1.inequality": [_THEOREM1],
    "theorem1.closed_form": [
        _q("001", "Appendix D (proof of Theorem 1), last displays",
           r"For $k > 2$, we have $1 + 2\frac{1}{k(k-1)} - \frac{k}{(k-1)^2} > 0$, leading to the bound: "
           r"$$\eta \leq \frac{2 + \frac{1}{k-1} - \frac{2}{k}}{1 + 2\frac{1}{k(k-1)} - \frac{k}{(k-1)^2}} = "
           r"\frac{2k^3 - 5k^2 + 5k - 2}{k^3 - 3k^2 + 4k - 2} = 2 + O\left(\frac{1}{k}\right).$$"),
    ],
    "theorem1.tightness": [
        _q("001", "Section 3.1 (on Figure 3, right)",
           "In the right figure of Figure 3, we plot the maximum learning rates that prevent collapse over 5 "
           "consecutive trials for varying number of class embeddings, comparing them to the theoretical upper "
           "bound from Theorem 1. The theoretical upper bound closely aligns with the highest successful learning "
           "rate recorded."),
        _q("001", "Section 3.1 (Figure 3 experiment)",
           "The results are presented in Figure 3, where we apply gradient descent to minimize the cosine "
           "similarity between each vector on a 100-dimensional unit ball."),
        _APPD_STEP,
    ],
    "figure3.k30": [
        _q("001", "Section 3.1 (on Figure 3, left and middle)",
           "The left and middle figures of Figure 3 show the singular value spectrum of the same 30 class "
           "embeddings, with learning rates of 2.0 and 2.1, respectively."),
        _q("001", "Section 3.1 (on Figure 3, left and middle)",
           "The left figure demonstrates successful learning with a low final loss, while the middle figure—where "
           "the learning rate is just 0.1 higher—results in complete collapse, as the singular values are nearly "
           "zero for all ranks except the first."),
    ],
    "figure3.bound_value": [
        _q("001", "Section 3.1 (on Figure 3)",
           "It is important to note that, according to Theorem 1, the upper bound for non-increasing class "
           "embedding means is 2.03."),
    ],
    "lemma2": [
        _q("001", "Section 3.2, Lemma 2",
           r"The optimal arrangement of the additional individual class embedding \mathbf{x}_k that minimize the "
           r"total cosine similarity score $\mathcal{L}_{\text{class}}$ (Eq. (3)) will result in \mathbf{x}_k "
           r"being linearly dependent on the remaining class embeddings in \mathbf{X} ."),
    ],
    "theorem2": [
        _q("001", "Appendix E (proof of 'Theorem 2', i.e. Lemma 2)",
           r"Our first goal is to show that there always exists another matrix $\mathbf{X}' \in \mathbb{R}^{m "
           r"\times k}$ with $\text{Rank}(\mathbf{X}') = k - 1$, such that $\mathcal{L}(\mathbf{X}) > "
           r"\mathcal{L}(\mathbf{X}')$."),
        _q("001", "Appendix E",
           r"To construct such a matrix \mathbf{X}' , we select a class embedding \mathbf{x}_k such that "
           r"$\sum_{i \neq k} \mathbf{x}_i \neq 0$."),
        _q("001", "Appendix E",
           r"Now, construct \mathbf{X}' by replacing \mathbf{x}_k with \mathbf{x}_k^\parallel ."),
        _q("001", "Appendix E",
           r"It is important to note that we can always find $\sum_{i \neq k} \mathbf{x}_i^\top "
           r"\mathbf{x}_k^\parallel < 0$. If this sum is not negative, we can simply invert the sign of "
           r"\mathbf{x}_k^\parallel , ensuring the sum becomes negative. Since $0 < \eta \leq 1$, it follows that "
           r"$\sqrt{1 - \eta^2} < 1$. Consequently, $\sqrt{1 - \eta^2} \sum_{i \neq k} \mathbf{x}_i^\top "
           r"\mathbf{x}_k^\parallel > \sum_{i \neq k} \mathbf{x}_i^\top \mathbf{x}_k^\parallel$. Therefore, we "
           r"have $\mathcal{L}(\mathbf{X}) > \mathcal{L}(\mathbf{X}')$, as required."),
    ],
    "section3_2.optima": [
        _q("001", "Section 3.1, Eq. (3)",
           r"$$\mathcal{L}_{class}(\mathbf{X}) := - \sum_{i \neq j} [\mathbf{X}^\top \mathbf{X}]_{ij}. \quad (3)$$"),
        _q("001", "Section 3.2",
           'While the second "orthogonal" method yields the most distinguishable classes from a linear algebra '
           'standpoint, the first "simplex ETF" and third "inverted groups" methods achieve the optimal value '
           r'of the InfoNCE-equivalent $\mathcal{L}_{\text{class}}$, given as $-k$.'),
        _q("001", "Appendix E",
           "The loss function is defined as the sum of pairwise cosine similarities between the class embeddings "
           "(refer to Equation 3)."),
    ],
    "figure4.rank": [
        _q("001", "Section 3.2 (Figure 4 experiment)",
           "The class embeddings are randomly initialized from a Gaussian distribution and normalized to unit norm "
           "at each iteration. As shown in Figure 4, the results demonstrate that gradient descent consistently "
           "converges to a subspace of rank $k - 1$, where the pairwise similarities vary significantly."),
    ],
    "figure4.not_etf": [
        _q("001", "Section 3.2, Figure 4 caption",
           "The results show that minimizing total cosine similarity via gradient descent leads to convergence "
           "within a subspace of rank $k - 1$ (left), while failing to preserve equal distances between the "
           "vectors (right)."),
        _q("001", "Section 3 (introduction)",
           "Specifically, we demonstrate that under gradient descent, which minimizes the total class cosine "
           r"similarity loss $\mathcal{L}_{\text{class}}$, the embeddings — initially spanning the full space — "
           "contract into a lower-dimensional subspace where they are not equidistant (not ETF)."),
    ],
    "final.temperature_factor": [
        _q("004", "Mechanism 2",
           "The paper derives: the embedding mean norm after one step scales by factor (1 - 2η/τ)² relative to "
           "initial norm."),
    ],
    "final.temperature_optimum": [
        _q("004", "Foundational Learning",
           "Can you explain why τ appears in the derived optimal learning rate formula η ≈ τ/2?"),
    ],
    "final.temperature_collapse": [
        _q("004", "Mechanism 2, evidence anchors",
           '[section 3] "larger learning rates induce a substantial shift in the embedding mean, consequently '
           'accelerating the collapse process"'),
    ],
    "autodiff.rule": [_THEOREM1, _APPD_STEP],
    "table5.infonce": _table5(
        "This effect is clearly visible for InfoNCE in Table 5 and DCL in Table 5. Consistent with CLOP’s goal of "
        "addressing dimensional collapse, we observe that the embeddings trained with CLOP show more distinct "
        "boundaries between classes, with each class being more orthogonal to the others."),
    "table5.dcl": _table5(
        "This effect is clearly visible for InfoNCE in Table 5 and DCL in Table 5. Consistent with CLOP’s goal of "
        "addressing dimensional collapse, we observe that the embeddings trained with CLOP show more distinct "
        "boundaries between classes, with each class being more orthogonal to the others."),
    "table5.vicreg": _table5(
        "Additionally, even for methods like VICreg and Barlow Twins (Table 5), which CLOP is not specifically "
        "designed for, we observe better learning outcomes when CLOP is applied. While the accuracy improvement "
        "for VICreg is marginal, the embedding visualizations clearly demonstrate that CLOP helps distribute the "
        "embeddings more evenly, potentially enhancing the model’s ability to generalize to future tasks."),
    "table5.barlowtwins": _table5(
        "Additionally, even for methods like VICreg and Barlow Twins (Table 5), which CLOP is not specifically "
        "designed for, we observe better learning outcomes when CLOP is applied."),
    "prototypes.orthonormal_vs_etf": [
        _q("004", "Key Results",
           "Orthonormal prototype initialization improves mean accuracy from 0.768 to 0.780 and reduces std from "
           "0.015 to 0.009"),
        _q("001", "Section 5",
           "To ensure a fair comparison with ETF, we also evaluate performance using ETF as prototypes instead of "
           "an orthonormal basis."),
    ],
    "final.lr_collapse": [
        _LR_004,
        _q("004", "First 3 experiments",
           "Compare CLOP vs. SupCon collapse rates (expect CLOP stable up to LR=10, SupCon collapses around LR≥5)."),
    ],
    "final.network_threshold": [
        _q("004", "Open Question 3",
           "Does the theoretical learning rate threshold (η = τ/2) derived under the assumption of \"merged "
           "positive pairs\" hold empirically in deep networks where this assumption is rarely perfectly met?"),
    ],
    "theorem1.bifurcation": [
        _THEOREM1,
        _q("001", "Section 3.1 (on Figure 3, left and middle)",
           "The left figure demonstrates successful learning with a low final loss, while the middle figure—where "
           "the learning rate is just 0.1 higher—results in complete collapse"),
    ],
    "final.eta_range": [
        _q("004", "Mechanism 2, evidence anchors",
           "[section 3, equation] optimal learning rate range derived as η ∈ [τ/2(1 - σ²(1+|N|)/2|N|), "
           "τ/2(1 + σ²(1+|N|)/2|N|)]"),
    ],
    "nc003.etf_optimal": [
        _q("003", "Abstract",
           "For a widely-studied data model and general loss and sample-hardening functions we prove that the "
           "Supervised Contrastive Learning (SCL), Hard-SCL (HSCL), and Unsupervised Contrastive Learning (UCL) "
           "risks are minimized by representations that exhibit Neural Collapse (NC), i.e., the class means form "
           "an Equianglular Tight Frame (ETF) and data from the same class are mapped to the same representation."),
    ],
    "nc003.hard_lower_bound": [
        _q("003", "Abstract",
           "We also prove that for any representation mapping, the HSCL and Hard-UCL (HUCL) risks are lower "
           "bounded by the corresponding SCL and UCL risks."),
    ],
    "nc003.adam_nc_hscl": [_ADAM_NC],
    "nc003.adam_nc_hucl": [_ADAM_NC],
    "nc003.dc_without": [
        _q("003", "Abstract",
           "Without incorporating hard negatives or feature normalization, however, the representations learned "
           "via ADAM suffer from dimensional collapse (DC) and fail to attain the NC geometry."),
    ],
    "nc003.clop_orthonormal": [
        _q("001", "Section 1",
           "our method aims to push the embeddings toward distinct orthogonal linear subspaces"),
        _q("003", "Abstract",
           "are minimized by representations that exhibit Neural Collapse (NC), i.e., the class means form an "
           "Equianglular Tight Frame (ETF) and data from the same class are mapped to the same representation."),
    ],
    "digits.clop_gain": [
        _q("001", "Section 6 (conclusion)",
           "Our experiments on CIFAR-100, Tiny-ImageNet, and ImageNet demonstrated the effectiveness of CLOP, "
           "showing significant improvements in stability across varying learning rates and batch sizes."),
        _SECTION4_GAIN,
    ],
}


# ---- BEGIN CLOP's own theory at the class-embedding level (claims.clop_theory) ----------------------
_CLOP_PULL = _q("001", "Section 4",
                "the CLOP loss introduces a supervised “pulling force” that prevents collapse by isolating labeled "
                "embeddings into their own dimensions.")
_CLOP_STABLE = _q("001", "Section 1",
                  "Specifically, we show that CLOP is significantly more stable across different learning rates and "
                  "smaller batch sizes.")
_CLOP_LAMBDA_1 = _q("001", "Section 5",
                    "we introduce our novel loss function, CLOP, which incorporates a hand-tuned hyperparameter, "
                    r"$\lambda = 1$, as defined in the formulation (see Eq. (4)).")
_CLOP_EQ4 = _q("001", "Section 4, Eq. (4)",
               r"$$\mathcal{L}_{\text{CLOP}} = \mathcal{L}_{\text{CL}} + \lambda \sum_{i=1}^{|\mathcal{S}|} "
               r"(1 - s(\mathbf{z}_i, \mathbf{c}_{y_i})), \quad (4)$$")
QUOTES["clop.prevents_collapse"] = [_CLOP_PULL, _CLOP_STABLE, _CLOP_LAMBDA_1, _CLOP_EQ4]
QUOTES["clop.lambda_range"] = [
    _q("001", "Section 5, Ablation Study on λ Tuning",
       "We observe that the performance remains stable for λ values ranging from 0.1 to 1.5, with $\\lambda = 1.0$ "
       "and $\\lambda = 1.5$ yielding the best overall performance."),
    _CLOP_EQ4,
]
# ---- END CLOP theory --------------------------------------------------------------------------------------------

_TABLE5_ORTHO = ("This effect is clearly visible for InfoNCE in Table 5 and DCL in Table 5. Consistent with CLOP’s goal of "
                 "addressing dimensional collapse, we observe that the embeddings trained with CLOP show more distinct "
                 "boundaries between classes, with each class being more orthogonal to the others.")
_LAMBDA_TABLE1 = _q("001", "Section 5, Ablation Study on λ Tuning (Table 1)",
                    r"We observe that the performance remains stable for λ values ranging from 0.1 to 1.5, with "
                    r"$\lambda = 1.0$ and $\lambda = 1.5$ yielding the best overall performance.")
_BATCH = _q("001", "Section 5, CLOP Enables Smaller Batch Sizes",
            "However, with the addition of CLOP, we observe significantly less performance degradation at smaller "
            "batch sizes.")
_LARGE_LR_IMAGES = _q("001", "Section 5, CLOP Prevents Collapse with Large Learning Rates",
                      "Moreover, as demonstrated by Theorem 1, excessively large learning rates can lead to complete "
                      "collapse, as clearly observed in the baseline methods at a learning rate of 10 on both datasets. "
                      "However, with the incorporation of CLOP into the loss function, we observe a significantly smaller "
                      "performance degradation on both datasets.")

#: Quotations of the claims of :mod:`claims.coverage` (the papers' claims that had no verdict).
COVERAGE_QUOTES: dict[str, list[dict]] = {
    "section3_1.network_collapse": [
        _q("001", "Section 3.1 (title)", "3.1 LARGE LEARNING RATE CAUSES COMPLETE COLLAPSE"),
        _q("001", "Section 3.1 (on Figure 2)",
           "However, when the learning rate is too high, the repulsive force causes the class embeddings to overshoot, "
           "as shown in Figure 2.C with a large learning rate. Due to the normalization operation inherent in "
           "contrastive learning, the class embeddings tend to converge, which ultimately results in the local minima "
           "characterized as complete collapse, as stated in Lemma 1."),
    ],
    "section3_2.hyperplane_classifier": [
        _q("001", "Section 1 (contributions)",
           "Second, we analyze the results under moderate learning rates and observe that the embeddings naturally lie "
           "on a hyperplane, which reduces spatial usage and makes it more difficult for the downstream classifier to "
           "learn effectively."),
        _q("001", "Section 3.2",
           'While the second "orthogonal" method yields the most distinguishable classes from a linear algebra '
           'standpoint'),
    ],
    "section3_2.cosine_collapse": [
        _q("001", "Section 3.2 (title)", "3.2 COSINE-SIMILARITY CAUSES DIMENSIONAL COLLAPSE"),
        _q("001", "Section 4 (on Table 5)",
           "As discussed in previous sections, methods utilizing sample-wise cosine similarity (e.g., InfoNCE and DCL) "
           "are expected to push the embeddings into a lower-dimensional subspace."),
    ],
    "table5.more_orthogonal": [_q("001", "Section 4 (on Table 5)", _TABLE5_ORTHO)],
    "table5.more_evenly_spread": [
        _q("001", "Section 4 (on Table 5)",
           "While the accuracy improvement for VICreg is marginal, the embedding visualizations clearly demonstrate "
           "that CLOP helps distribute the embeddings more evenly, potentially enhancing the model’s ability to "
           "generalize to future tasks."),
    ],
    "batch_size.robustness": [
        _BATCH,
        _q("001", "Section 1 (contributions)",
           "Specifically, we show that CLOP is significantly more stable across different learning rates and smaller "
           "batch sizes."),
    ],
    "ablation.lambda": [_LAMBDA_TABLE1],
    "ablation.similarity": [
        _q("001", "Section 5, Ablation Study on the Choice of Similarity Metric",
           r"The results, presented in Table 5, indicate that cosine similarity, which aligns with \mathcal{L}_{CL} in "
           r"Eq. (4), achieves the highest performance."),
    ],
    "theorem1.proof": [
        _APPD_STEP,
        _q("001", "Appendix D",
           r"Thus, the upper bound of the first-order expectation $\mathbb{E}[\|\mathbf{x}_i^{(1)}\|]$ can be denoted "
           r"by B , where:"),
        _q("001", "Appendix D",
           r"$$\boldsymbol{\mu}^{(1)} = \frac{1}{k} \sum_{i=1}^n \hat{\mathbf{x}}_i^{(1)} \geq \frac{1}{kB} "
           r"\sum_{i=1}^n \mathbf{x}_i^{(1)} = \frac{1-\eta}{B} \boldsymbol{\mu}^{(0)}.$$"),
        _q("001", "Appendix D",
           r"This implies that the learning rate η must satisfy $\frac{1-\eta}{B} \leq 1 + \varepsilon$."),
    ],
    "notested.cifar100": [
        _q("001", "Section 5, CLOP Enables Smaller Batch Sizes",
           "CLOP consistently outperformed the baseline methods across all batch sizes."),
        _q("001", "Section 5, CLOP Enables Smaller Batch Sizes",
           "Remarkably, CLOP achieved similar accuracy with a batch size of 32 compared to the baseline SupCon with a "
           "batch size of 2048 for CIFAR-100."),
        _BATCH, _LAMBDA_TABLE1,
    ],
    "notested.tiny_imagenet": [
        _q("001", "Section 5, Ablation Study on λ Tuning",
           "The classification accuracy on both CIFAR-100 and Tiny-ImageNet is reported in Table 1."),
        _LAMBDA_TABLE1,
    ],
    "notested.imagenet": [
        _q("001", "Section 6 (conclusion)",
           "Our experiments on CIFAR-100, Tiny-ImageNet, and ImageNet demonstrated the effectiveness of CLOP, showing "
           "significant improvements in stability across varying learning rates and batch sizes."),
        _LARGE_LR_IMAGES,
    ],
}

QUOTES.update(COVERAGE_QUOTES)


def papers_dir() -> Path | None:
    """The folder holding the paper files: ``$CLOP_PAPERS_DIR``, ``./shared/papers`` or ``/work/shared/papers``.

    Returns ``None`` if none of them holds the papers (a clone without the shared folder).

    Example:
        >>> d = papers_dir()
        >>> d is None or (d / PAPER_FILES["001"]).exists()
        True
    """
    candidates = [os.environ.get("CLOP_PAPERS_DIR"), Path(__file__).resolve().parents[1] / "shared" / "papers",
                  "/work/shared/papers"]
    for c in candidates:
        if c and (Path(c) / PAPER_FILES["001"]).exists():
            return Path(c)
    return None


def normalise(text: str) -> str:
    """Collapse every run of whitespace (spaces, tabs, newlines) to one space and strip the ends.

    Example:
        >>> normalise("a\\t b\\n\\nc ")
        'a b c'
    """
    return " ".join(text.split())


def find_in_paper(quote: dict, directory: Path | None = None) -> bool:
    """Whether ``quote["text"]`` occurs verbatim (whitespace-normalised) in ``quote["file"]``.

    Raises:
        FileNotFoundError: if the papers folder cannot be found.

    Example:
        >>> d = papers_dir()
        >>> d is None or find_in_paper(QUOTES["figure3.bound_value"][0], d)
        True
    """
    directory = papers_dir() if directory is None else Path(directory)
    if directory is None:
        raise FileNotFoundError("paper files not found: set CLOP_PAPERS_DIR to the folder holding them")
    return normalise(quote["text"]) in normalise((directory / quote["file"]).read_text(encoding="utf-8"))


def quotes_for(claim_id: str) -> list[dict]:
    """The quotations of ``claim_id`` (copies), or an empty list for a claim without one.

    Example:
        >>> quotes_for("figure3.bound_value")[0]["section"]
        'Section 3.1 (on Figure 3)'
    """
    return [dict(q) for q in QUOTES.get(claim_id, [])]
