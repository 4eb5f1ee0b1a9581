"""How to reproduce other libraries' numbers with polyloss: Dice, Jaccard, Tversky, focal
and cross-entropy, and the margin, regression, cosine, embedding and ranking losses.

Data for the docs' conventions page (and, per library, the migration page), and
evaluated row by row by ``tests/test_conventions.py`` (against the real library where
installed, or against a transcription of its source, cited there). Each row is
``(library, their call, polyloss call, note)``. In the calls:

- ``x``: logits ``(N, C, H, W)``; ``p = softmax(x, axis=1)``; ``labels``: a class map
  ``(N, H, W)``; ``onehot``: its one-hot ``(N, C, H, W)``; ``w``: per-class weights;
  ``a``: a per-class alpha;
- ``xb``: binary logits ``(N, H, W)``, ``pb = sigmoid(xb)``, ``tb``: 0/1 targets ``(N, H, W)``;
- ``x_last``, ``onehot_last``: channel-last ``(N, H, W, C)`` versions; ``q_last = sigmoid(x_last)``:
  channel-last probabilities whose rows do not sum to 1; ``np``: NumPy;
- ``s``: class scores ``(5, 3)``, ``y``: their integer labels ``(5,)`` (every class present),
  ``y_onehot``: the one-hot labels; in samples 0, 2, 3 and 4 every other score is negative;
- ``u``, ``v``: real predictions and targets ``(4, 6)`` (also vectors along the last axis;
  ``u[0]`` is shorter than 1e-3); ``up``, ``vp``, ``var``: positive predictions (rates),
  targets and variances ``(4, 6)``; ``pm``: -1/1 labels ``(4, 6)``;
- ``rel``, ``valid``, ``item_w``: relevance labels 0-3, a boolean mask (list 0 has no valid
  item) and item weights, ``(4, 6)``: four lists of six items;
- ``anc``, ``pos``, ``neg``: anchor, positive and negative embeddings ``(5, 4)``; ``emb``:
  embeddings ``(6, 3)`` with group labels ``groups = [0, 1, 0, 2, 1, 2]``;
- capitals (``X``, ``L``, ``L1 = labels[:, None]``, ``OH``, ``XB``, ``TB``, ``PB``, ``W``, ``A``,
  ``S``, ``Y``, ``U``, ``V``, ``UP``, ``VP``, ``VAR``, ``PM``, ``ANC``, ``POS``, ``NEG``) are the
  torch tensors of the same data, and ``F`` is ``torch.nn.functional``.

A row whose library names a version (``"kornia <= 0.8.2"``) runs on a transcription of
that version's code (tests/references.py); the installed one runs its own. Rows are
grouped by library; a library's rows feed its migration table.
"""

from __future__ import annotations

CONVENTIONS: tuple[tuple[str, str, str, str], ...] = (
    # ---------------------------------------------------------------- MONAI
    ("MONAI", "monai.losses.DiceLoss(softmax=True, to_onehot_y=True)(X, L1)",
     "polyloss.dice_loss(x, labels, axis=1, activation='softmax', smooth_nr=1e-5, smooth_dr=1e-5)",
     "MONAI's smoothing defaults to 1e-5, polyloss' to 1.0. to_onehot_y=True is a class map without the "
     "class axis (MONAI keeps a size-1 axis)."),
    ("MONAI", "monai.losses.DiceLoss(sigmoid=True, batch=True, squared_pred=True, include_background=False)(X, OH)",
     "polyloss.dice_loss(x, onehot, axis=1, activation='sigmoid', batch=True, squared=True, "
     "include_background=False, smooth_nr=1e-5, smooth_dr=1e-5)",
     "squared_pred is squared; batch and include_background mean the same."),
    ("MONAI", "monai.losses.DiceLoss(softmax=True, to_onehot_y=True, weight=W)(X, L1)",
     "polyloss.dice_loss(x, labels, axis=1, activation='softmax', smooth_nr=1e-5, smooth_dr=1e-5, weight=w)"
     " * sum(w) / 3",
     "MONAI's weighted 'mean' divides sum(w_c l_c) by N*C, polyloss by N*sum(w) (a weighted mean); "
     "'sum' and 'none' agree."),
    ("MONAI", "monai.losses.DiceLoss(jaccard=True, softmax=True, to_onehot_y=True)(X, L1)",
     "polyloss.jaccard_loss(x, labels, axis=1, activation='softmax', smooth_nr=1e-5, smooth_dr=1e-5)",
     "Both use 1 - (2I + s_nr)/(2(P + T - I) + s_dr)."),
    ("MONAI", "monai.losses.TverskyLoss(alpha=0.3, beta=0.7, softmax=True, to_onehot_y=True)(X, L1)",
     "polyloss.tversky_loss(x, labels, axis=1, activation='softmax', alpha=0.3, beta=0.7, "
     "smooth_nr=1e-5, smooth_dr=1e-5)",
     "alpha weights false positives, beta false negatives, in both."),
    ("MONAI", "monai.losses.GeneralizedDiceLoss(w_type='simple', softmax=True, to_onehot_y=True)(X, L1)",
     "polyloss.generalized_dice_loss(x, labels, axis=1, activation='softmax', w_type='simple', "
     "smooth_nr=1e-5, smooth_dr=1e-5)",
     "Same absent-class rule (largest finite weight); MONAI computes the weights in float32, "
     "so float64 results agree to ~1e-8."),
    ("MONAI", "monai.losses.FocalLoss(use_softmax=False, gamma=2.0, alpha=0.25)(X, OH)",
     "polyloss.sigmoid_focal_loss(x, onehot, gamma=2.0, alpha=0.25)",
     "MONAI computes in float32; its 'sum' sums per-(sample, class) spatial means."),
    # ---------------------------------------------------------- segmentation_models_pytorch
    ("segmentation_models_pytorch", "smp.losses.DiceLoss('multiclass', smooth=0.5)(X, L)",
     "polyloss.dice_loss(x, labels, axis=1, activation='softmax', batch=True, smooth_nr=0.5, smooth_dr=0.5)",
     "smp sums over the batch (dims=(0, 2)), so batch=True; its smooth s enters numerator and denominator "
     "once: smooth_nr = smooth_dr = s. smp zeroes classes absent from the batch's target and clamps the "
     "denominator at eps=1e-7: equal when every class is present. from_logits=True is the activation."),
    ("segmentation_models_pytorch", "smp.losses.DiceLoss('binary', smooth=1.0)(XB[:, None], TB[:, None])",
     "polyloss.dice_loss(xb, tb, activation='sigmoid', batch=True, smooth_nr=1.0, smooth_dr=1.0)",
     "Binary mode pools the whole batch: axis=None with batch=True."),
    ("segmentation_models_pytorch", "smp.losses.JaccardLoss('multilabel', smooth=0.5)(X, OH)",
     "polyloss.jaccard_loss(x, onehot, axis=1, activation='sigmoid', batch=True, smooth_nr=1.0, smooth_dr=1.0)",
     "smp's (I + s)/(U + s) is polyloss' (2I + 2s)/(2U + 2s): smooth_nr = smooth_dr = 2s."),
    ("segmentation_models_pytorch", "smp.losses.TverskyLoss('multiclass', alpha=0.3, beta=0.7, smooth=0.5)(X, L)",
     "polyloss.tversky_loss(x, labels, axis=1, activation='softmax', batch=True, alpha=0.3, beta=0.7, "
     "smooth_nr=0.5, smooth_dr=0.5)",
     "smp's gamma raises the class mean, (mean_c(1 - TI_c))**gamma; polyloss averages (1 - TI_c)**gamma: "
     "equal for gamma=1."),
    ("segmentation_models_pytorch", "smp.losses.FocalLoss('binary', alpha=0.25, gamma=2.0)(XB, TB)",
     "polyloss.sigmoid_focal_loss(xb, tb, alpha=0.25, gamma=2.0)",
     "smp's p_t = exp(-BCE) equals torchvision's for hard labels only."),
    ("segmentation_models_pytorch", "smp.losses.SoftCrossEntropyLoss(smooth_factor=0.1, ignore_index=2)(X, L)",
     "polyloss.cross_entropy(x, labels, ignore_index=2, label_smoothing=0.1, reduction='sum') / labels.size",
     "smp's mean divides by every target, the ignored ones included (they add 0); polyloss' mean divides by "
     "the targets not ignored, so take the sum over the target count. Without ignored targets the two means "
     "agree. smooth_factor is label_smoothing; smp's default smooth_factor=None fails (None / C): pass 0.0."),
    ("segmentation_models_pytorch", "smp.losses.SoftBCEWithLogitsLoss(smooth_factor=0.1)(XB, TB)",
     "polyloss.binary_cross_entropy_with_logits(xb, tb, label_smoothing=0.2)",
     "smp's smooth_factor s moves the targets to s and 1 - s; polyloss' label_smoothing e (Keras') to e/2 and "
     "1 - e/2: label_smoothing = 2s. smp's ignore_index zeroes those targets' losses but keeps them in the "
     "mean."),
    # ------------------------------------------------------------------ Keras 3
    ("Keras", "keras.losses.Dice()(tb, pb)",
     "polyloss.dice_loss(pb, tb, batch=True, smooth_nr=0.0, smooth_dr=1e-7)",
     "Keras takes (y_true, y_pred), probabilities, and with axis=None pools the whole batch; "
     "epsilon 1e-7 only in the denominator. Keras computes in float32."),
    ("Keras", "keras.losses.Dice(axis=(1, 2))(tb, pb)",
     "polyloss.dice_loss(pb, tb, smooth_nr=0.0, smooth_dr=1e-7)",
     "axis=(1, 2) is one score per sample, then the batch mean: polyloss' axis=None."),
    ("Keras", "keras.losses.Tversky(alpha=0.3, beta=0.7)(tb, pb)",
     "polyloss.tversky_loss(pb, tb, alpha=0.7, beta=0.3, batch=True, smooth_nr=0.0, smooth_dr=1e-7)",
     "Keras 3.15 and earlier (the parity session's Keras is 3.15.1): alpha multiplies sum((1 - y_pred) y_true), "
     "the false negatives, so alpha and beta swap. Keras fixed it on its main branch in July 2026 "
     "(keras-team/keras#23333, after 3.15): from the next release on, Tversky(alpha=a, beta=b) is "
     "tversky_loss(alpha=a, beta=b), as in MONAI."),
    ("Keras", "keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.25, gamma=2.0, "
     "from_logits=True)(tb, xb)",
     "polyloss.sigmoid_focal_loss(xb, tb, alpha=0.25, gamma=2.0)",
     "Keras clips probabilities to [1e-7, 1 - 1e-7] (differs at saturation); without "
     "apply_class_balancing (its default) use alpha=None."),
    ("Keras", "keras.losses.BinaryFocalCrossentropy(gamma=2.0, from_logits=True)(tb, xb)",
     "polyloss.sigmoid_focal_loss(xb, tb, alpha=None, gamma=2.0)",
     "Keras' alpha is off unless apply_class_balancing=True; polyloss' default alpha is 0.25 (torchvision)."),
    ("Keras", "keras.losses.CategoricalFocalCrossentropy(alpha=0.25, gamma=2.0, from_logits=True)"
     "(onehot_last, x_last)",
     "polyloss.focal_loss(x_last, labels, axis=-1, gamma=2.0, alpha=[0.25, 0.25, 0.25])",
     "Keras' scalar alpha scales every class; its targets are one-hot, channel-last."),
    ("Keras", "keras.losses.CategoricalCrossentropy()(onehot_last, q_last)",
     "polyloss.cross_entropy(np.log(q_last), onehot_last, axis=-1)",
     "Keras' probability form divides each row by its sum before the log (then clips to [1e-7, 1 - 1e-7]): "
     "the log of the probabilities is a logit, and the softmax of log(q) is that renormalised q. "
     "nll_loss(np.log(q_last), ...) would not renormalise."),
    ("Keras", "keras.losses.SparseCategoricalCrossentropy()(labels, q_last)",
     "polyloss.cross_entropy(np.log(q_last), labels, axis=-1)",
     "As CategoricalCrossentropy: the probability form renormalises each row; integer labels, classes last."),
    ("Keras", "keras.losses.CategoricalCrossentropy(from_logits=True)(onehot_last, x_last, sample_weight=pb)",
     "(polyloss.cross_entropy(x_last, labels, axis=-1, reduction='none') * pb).mean()",
     "With sample_weight, Keras' default reduction ('sum_over_batch_size') is sum(w * loss) / (number of "
     "losses), not a weighted mean: weight the unreduced losses and take the plain mean."),
    ("Keras", "keras.losses.MeanSquaredError()(tb[..., None], xb[..., None], sample_weight=pb)",
     "polyloss.mse_loss(xb, tb, weight=pb, reduction='sum') / xb.size",
     "polyloss' weight gives sum(w * loss) / sum(w) (torch's); Keras' default divides by the count, so take "
     "the weighted sum over the element count. Keras averages over the last axis first (here of length 1, so "
     "one loss per element)."),
    ("Keras", "keras.losses.MeanSquaredError(reduction='mean_with_sample_weight')(tb[..., None], xb[..., None], "
     "sample_weight=pb)",
     "polyloss.mse_loss(xb, tb, weight=pb)",
     "Keras' reduction='mean_with_sample_weight' (Keras 3.7 and later) is polyloss' weighted mean, "
     "sum(w * loss) / sum(w)."),
    # ------------------------------------------- Keras 3: margin, regression, cosine
    ("Keras", "keras.losses.Hinge()(tb, xb)",
     "polyloss.hinge_loss(xb, tb)",
     "0/1 labels: when every label is 0 or 1, Keras (and polyloss' hinge_loss and squared_hinge_loss) use "
     "2y - 1, so 0/1 and -1/1 labels give one number; labels mixing -1, 0 and 1 are used as they are. optax' "
     "hinge_loss converts nothing (see its row)."),
    ("Keras", "keras.losses.SquaredHinge()(tb, xb)",
     "polyloss.squared_hinge_loss(xb, tb)",
     "The same 0/1 conversion, then the square of the hinge."),
    ("Keras", "keras.losses.hinge(pm, u)",
     "polyloss.hinge_loss(u, pm, reduction='none').mean(axis=-1)",
     "Keras' loss functions (and reduction=None of its loss objects) average the last axis: one value per "
     "sample. Their mean over the batch is polyloss' mean; their 'sum' is polyloss' sum divided by the size of "
     "the last axis (see the MAPE row)."),
    ("Keras", "keras.losses.CategoricalHinge()(y_onehot, s)",
     "polyloss.categorical_hinge_loss(s, y_onehot, axis=-1)",
     "Keras' negative term max_c (1 - t_c) x_c counts the target class as 0: where every other score is "
     "negative it is 0, not the largest other score (samples 0, 2, 3 and 4 here). So CategoricalHinge is not the "
     "Crammer-Singer loss of optax and scikit-learn (multiclass_hinge_loss) where a sample's other scores are "
     "all negative."),
    ("Keras", "keras.losses.CosineSimilarity()(v, u)",
     "polyloss.cosine_distance_loss(u, v, eps=1e-7) - 1",
     "Keras' loss is the negative cosine, -cos in [-1, 1]; polyloss' the cosine distance 1 - cos in [0, 2]: "
     "subtract 1. Keras floors the norms at epsilon() = 1e-7 (its NumPy backend divides a zero vector by 1 "
     "instead): eps=1e-7."),
    ("Keras", "keras.losses.MeanAbsolutePercentageError()(v, u)",
     "polyloss.mape_loss(u, v)",
     "Targets first in Keras; the same floor, 1e-7, under |y|."),
    ("Keras", "keras.losses.MeanAbsolutePercentageError(reduction='sum')(v, u)",
     "polyloss.mape_loss(u, v, reduction='sum') / u.shape[-1]",
     "Keras averages the last axis before its reduction: its 'sum' is the sum of the per-sample means, "
     "polyloss' sum divided by the size of the last axis (the means agree)."),
    ("Keras", "keras.losses.MeanSquaredLogarithmicError()(vp, up)",
     "polyloss.msle_loss(up, vp)",
     "Both clamp the values at 1e-7 before log(1 + .)."),
    ("Keras", "keras.losses.Poisson()(vp, up)",
     "polyloss.poisson_nll_loss(up, vp, log_input=False, eps=1e-7)",
     "Keras' Poisson takes the rate itself (torch's log_input=False) and adds epsilon() = 1e-7 inside the log "
     "(torch's eps defaults to 1e-8)."),
    # ------------------------------------------------------------------ kornia
    ("kornia", "kornia.losses.dice_loss(X, L, average='macro')",
     "polyloss.dice_loss(x, labels, axis=1, activation='softmax', smooth_nr=0.0, smooth_dr=1e-8)",
     "kornia 0.9.0 (the parity session's) averages the per-class losses over the classes present in each "
     "sample's target, polyloss over all C: equal when every class is present, as here (next row: a class "
     "absent). kornia 0.8.2 and earlier average over all C classes, as polyloss, also when one is absent."),
    ("kornia", "kornia.losses.dice_loss(X, L % 2, average='macro')",
     "polyloss.dice_loss(x, labels % 2, axis=1, activation='softmax', smooth_nr=0.0, smooth_dr=1e-8, "
     "reduction='none')[:, :2].mean()",
     "Class 2 is absent from every sample: kornia 0.9.0 leaves it out of the mean, so average polyloss' "
     "per-class losses of the classes present. polyloss' mean (and kornia 0.8.2's) counts the absent class "
     "with loss 1."),
    ("kornia", "kornia.losses.dice_loss(X, L)",
     "polyloss.dice_loss(p, onehot, smooth_nr=0.0, smooth_dr=1e-8)",
     "kornia's default 'micro' pools the classes of a sample: polyloss' axis=None on probabilities."),
    ("kornia", "kornia.losses.tversky_loss(X, L, alpha=0.3, beta=0.7)",
     "polyloss.tversky_loss(x, labels, axis=1, activation='softmax', alpha=0.3, beta=0.7, smooth_nr=0.0, "
     "smooth_dr=1e-8)",
     "kornia 0.9.0 (the parity session's): one Tversky index per sample and class, averaged over the classes "
     "present in the sample's target: equal when every class is present, as here. kornia 0.8.2 and earlier "
     "pool all classes of a sample instead: see the kornia <= 0.8.2 row of the conventions page."),
    ("kornia", "kornia.losses.tversky_loss(X, L % 2, alpha=0.3, beta=0.7)",
     "polyloss.tversky_loss(x, labels % 2, axis=1, activation='softmax', alpha=0.3, beta=0.7, smooth_nr=0.0, "
     "smooth_dr=1e-8, reduction='none')[:, :2].mean()",
     "kornia 0.9.0 with class 2 absent from every sample: the mean over the classes present."),
    ("kornia <= 0.8.2", "kornia.losses.tversky_loss(X, L, alpha=0.3, beta=0.7)",
     "polyloss.tversky_loss(p, onehot, alpha=0.3, beta=0.7, smooth_nr=0.0, smooth_dr=1e-8)",
     "kornia up to 0.8.2 (and 0.9.0rc1) takes each pixel's probability of its target class and sums it over "
     "the classes and pixels (dims 1-3) of a sample: one index per sample, all classes pooled, then the batch "
     "mean. That is polyloss' axis=None (per sample) on the probabilities and the one-hot target, whatever "
     "classes are present. Pooled, FP = FN = pixels - TP, so only alpha + beta matters (alpha + beta = 1 gives "
     "its micro Dice). Checked against kornia 0.8.2's code."),
    ("kornia", "kornia.losses.focal_loss(X, L, alpha=0.25, gamma=2.0, reduction='mean')",
     "polyloss.focal_loss(x, labels, gamma=2.0, alpha=[0.75, 0.25, 0.25]) / 3",
     "kornia weights class 0 by 1 - alpha and the others by alpha, and its 'mean' divides by C times the "
     "pixel count."),
    # ------------------------------------------------------------------ optax
    ("optax", "optax.losses.softmax_cross_entropy(x_last, onehot_last)",
     "polyloss.cross_entropy(x_last, onehot_last, axis=-1, reduction='none')",
     "optax returns one loss per example, classes last: reduction='none', axis=-1. Probability (or one-hot) "
     "labels are a floating target of the input's shape."),
    ("optax", "optax.losses.softmax_cross_entropy_with_integer_labels(x_last, labels)",
     "polyloss.cross_entropy(x_last, labels, axis=-1, reduction='none')",
     "Integer labels are an integer target without the class axis."),
    ("optax", "optax.losses.sigmoid_binary_cross_entropy(xb, tb)",
     "polyloss.binary_cross_entropy_with_logits(xb, tb, reduction='none')",
     "Element losses: reduction='none'."),
    ("optax", "optax.losses.sigmoid_focal_loss(xb, tb)",
     "polyloss.sigmoid_focal_loss(xb, tb, alpha=None, reduction='none')",
     "optax' alpha defaults to None (no weighting), polyloss' to 0.25 (torchvision's): pass alpha=None."),
    ("optax", "optax.losses.sigmoid_focal_loss(xb, tb, alpha=0.25, gamma=2.0)",
     "polyloss.sigmoid_focal_loss(xb, tb, reduction='none')",
     "With alpha given the two agree: alpha on the positives, 1 - alpha on the negatives."),
    ("optax", "optax.losses.l2_loss(pb, tb)",
     "polyloss.mse_loss(pb, tb, reduction='none') * 0.5",
     "optax' l2_loss is half the squared error; its squared_error is mse_loss(..., reduction='none')."),
    ("optax", "optax.losses.kl_divergence(np.log(p), onehot, axis=1)",
     "polyloss.kl_div(np.log(p), onehot, reduction='none').sum(axis=1)",
     "Both take log-predictions first and probabilities second, with 0 log 0 = 0; optax sums over the class "
     "axis (its axis, default -1), polyloss' 'none' keeps the terms: sum them, or reduction='batchmean' for "
     "the mean KL of 2-D (N, C) arrays."),
    ("optax", "optax.losses.dice_loss(x_last, onehot_last)",
     "polyloss.dice_loss(x_last, labels, axis=-1, activation='softmax', smooth_nr=2.0, smooth_dr=2.0, "
     "reduction='none').mean(axis=-1)",
     "optax' (I + s)/(I + (P - I)/2 + (T - I)/2 + s) is (2I + 2s)/(P + T + 2s): smooth_nr = smooth_dr = 2s "
     "(default s = 1). It sums over the axes between the first and the last (one score per sample and "
     "class), softmax over the last axis (sigmoid for one channel), then averages over the classes: one loss "
     "per sample."),
    ("optax", "optax.losses.dice_loss(x_last, onehot_last, alpha=0.3, beta=0.7, smooth=0.5)",
     "polyloss.tversky_loss(x_last, labels, axis=-1, activation='softmax', alpha=0.3, beta=0.7, "
     "smooth_nr=0.5, smooth_dr=0.5, reduction='none').mean(axis=-1)",
     "With alpha and beta, optax' dice_loss is the Tversky loss (alpha on false positives, beta on false "
     "negatives), its smooth in numerator and denominator once."),
    # -------------------------------------------- optax: margin, cosine, embeddings, ranking
    ("optax", "optax.losses.multiclass_hinge_loss(s, y)",
     "polyloss.multiclass_hinge_loss(s, y, axis=-1, reduction='none')",
     "optax' multi-class hinge is Crammer-Singer's, max(0, 1 + max_{c != y} x_c - x_y): the largest violation. "
     "torch's multi_margin_loss sums the violations and divides by C: polyloss.multi_margin_loss, another "
     "number for C > 2 (conventions page)."),
    ("optax", "optax.losses.multiclass_hinge_loss(s[:, :2], y % 2)",
     "polyloss.multi_margin_loss(s[:, :2], y % 2, reduction='none') * 2",
     "With two classes there is one violation: Crammer-Singer's loss is C = 2 times torch's multi_margin_loss. "
     "With more classes the two differ (checked on s with C = 3)."),
    ("optax", "optax.losses.multiclass_perceptron_loss(s, y)",
     "polyloss.multiclass_perceptron_loss(s, y, axis=-1, reduction='none')",
     "Classes last in optax: axis=-1 (here 2-D, so axis=1 is the same)."),
    ("optax", "optax.losses.hinge_loss(xb, 2 * tb - 1)",
     "polyloss.hinge_loss(xb, tb, reduction='none')",
     "optax' hinge_loss takes -1/1 labels and converts nothing: on 0/1 labels a 0 gives max(0, 1) = 1 "
     "whatever the score. Give optax 2t - 1; polyloss (as Keras) converts labels that are all 0 or 1."),
    ("optax", "optax.losses.perceptron_loss(u, pm)",
     "polyloss.perceptron_loss(u, pm, reduction='none')",
     "-1/1 labels in both; element losses."),
    ("optax", "optax.losses.cosine_distance(u, v)",
     "polyloss.cosine_distance_loss(u, v, eps=0.0, reduction='none')",
     "optax' epsilon (default 0) floors the squared norm, polyloss' eps the norm: eps = sqrt(epsilon). With "
     "optax' default a zero vector gives NaN; polyloss' default eps=1e-8 (optax epsilon=1e-16) gives distance "
     "1 and a finite gradient."),
    ("optax", "optax.losses.cosine_distance(u, v, epsilon=1e-6)",
     "polyloss.cosine_distance_loss(u, v, eps=1e-3, reduction='none')",
     "epsilon=e is eps=sqrt(e); u's first vector is shorter than 1e-3, so the floor is used."),
    ("optax", "optax.losses.triplet_margin_loss(anc, pos, neg, eps=0.0)",
     "polyloss.triplet_margin_loss(anc, pos, neg, eps=0.0, reduction='none')",
     "optax adds its eps (default 1e-6) to the sum of powers, (sum (a - p)^p + eps)^(1/p); torch's "
     "pairwise_distance, polyloss' default, adds it to each difference, ||a - p + eps||_p. With eps=0 they "
     "agree (at distance 0 optax' default gives sqrt(1e-6) = 1e-3, torch's 2e-6 here)."),
    ("optax", "optax.losses.triplet_margin_loss(anc, pos, neg, norm_degree=4, margin=0.5, eps=0.0)",
     "polyloss.triplet_margin_loss(anc, pos, neg, p=4.0, margin=0.5, eps=0.0, reduction='none')",
     "norm_degree is p. optax takes no absolute value of the differences, so only even degrees are norms; "
     "optax has no swap."),
    ("optax", "optax.losses.ntxent(emb, groups, 0.5)",
     "polyloss.ntxent_loss(emb, groups, temperature=0.5)",
     "optax returns the mean over the positive pairs only (NaN without a positive pair; polyloss 0); "
     "reduction='none' gives polyloss' (N, N) matrix of pair losses."),
    ("optax", "optax.losses.ranking_softmax_loss(u, rel)",
     "polyloss.ranking_softmax_loss(u, rel)",
     "optax' reduce_fn jnp.mean, jnp.sum and None are reduction 'mean', 'sum' and 'none'."),
    ("optax", "optax.losses.ranking_softmax_loss(u, rel, where=valid)",
     "polyloss.ranking_softmax_loss(u, rel, where=valid)",
     "A list without a valid item (the first here) has loss 0 and is left out of the mean, in both."),
    ("optax", "optax.losses.ranking_softmax_loss(u, rel, where=valid, weights=item_w, reduce_fn=None)",
     "polyloss.ranking_softmax_loss(u, rel, where=valid, weight=item_w, reduction='none')",
     "optax' weights is weight."),
    # ------------------------------------------------------------------ PyTorch
    ("PyTorch", "F.multi_margin_loss(S, Y)",
     "polyloss.multi_margin_loss(s, y)",
     "torch sums the hinge terms of the other classes and divides by C; the Crammer-Singer loss of optax and "
     "scikit-learn takes the largest term: polyloss.multiclass_hinge_loss."),
    ("PyTorch", "F.multi_margin_loss(S, Y, p=2, margin=0.5, weight=W)",
     "polyloss.multi_margin_loss(s, y, p=2, margin=0.5, weight=w)",
     "weight[y] scales each sample's loss and the mean divides by the number of samples (not by the total "
     "weight, as cross_entropy's does), in both."),
    ("PyTorch", "F.triplet_margin_loss(ANC, POS, NEG)",
     "polyloss.triplet_margin_loss(anc, pos, neg)",
     "torch's distance is pairwise_distance, ||a - p + eps||_p with eps=1e-6 added to each difference, as "
     "polyloss' default; optax adds eps to the sum of powers (its rows)."),
    ("PyTorch", "F.triplet_margin_loss(ANC, POS, NEG, margin=0.5, p=3, swap=True, reduction='none')",
     "polyloss.triplet_margin_loss(anc, pos, neg, margin=0.5, p=3.0, swap=True, reduction='none')",
     "Same names and defaults; polyloss also takes an axis and a margin <= 0."),
    ("PyTorch", "F.triplet_margin_with_distance_loss(ANC, POS, NEG, margin=0.5)",
     "polyloss.triplet_margin_with_distance_loss(anc, pos, neg, margin=0.5)",
     "distance_function=None is torch's pairwise_distance in both; a distance function of your own takes the "
     "arrays of the backend in use."),
    ("PyTorch", "F.poisson_nll_loss(UP, VP, log_input=False)",
     "polyloss.poisson_nll_loss(up, vp, log_input=False)",
     "The rate itself, log(rate + eps) with eps=1e-8; Keras' Poisson is eps=1e-7."),
    ("PyTorch", "F.poisson_nll_loss(U, VP, full=True)",
     "polyloss.poisson_nll_loss(u, vp, full=True)",
     "The log-rate (default), with torch's Stirling term for targets > 1."),
    ("PyTorch", "F.gaussian_nll_loss(U, V, VAR, full=True)",
     "polyloss.gaussian_nll_loss(u, v, var, full=True)",
     "var is the third argument in both, clamped at eps (1e-6) without stopping its gradient."),
    ("PyTorch", "F.gaussian_nll_loss(U, V, VAR[:, 0])",
     "polyloss.gaussian_nll_loss(u, v, var[:, 0])",
     "One variance per row: var of the input's shape without its last axis, as torch."),
    # ------------------------------------------------------------------ scikit-learn
    ("scikit-learn", "sklearn.metrics.hinge_loss(y, s)",
     "polyloss.multiclass_hinge_loss(s, y)",
     "Targets first in scikit-learn. Its multi-class hinge loss is Crammer-Singer's, as optax': not torch's "
     "multi_margin_loss. Every class must occur in y (or be passed as labels)."),
    ("scikit-learn", "sklearn.metrics.hinge_loss(tb.ravel(), xb.ravel())",
     "polyloss.hinge_loss(xb, tb)",
     "Binary: scikit-learn maps its two label values to -1 and 1, so 0/1 labels give the number of -1/1 ones, "
     "as in Keras and polyloss; it wants 1-D arrays."),
    ("scikit-learn", "sklearn.metrics.mean_pinball_loss(v, u, alpha=0.9)",
     "polyloss.pinball_loss(u, v, quantile=0.9)",
     "alpha is quantile; targets first in scikit-learn. Its uniform average of the per-output means is the "
     "mean over all elements."),
    ("scikit-learn", "sklearn.metrics.mean_pinball_loss(v, u, alpha=0.9, multioutput='raw_values')",
     "polyloss.pinball_loss(u, v, quantile=0.9, reduction='none').mean(axis=0)",
     "Per-output means: the 'none' losses averaged over the samples. polyloss also takes one quantile per "
     "output."),
    ("scikit-learn", "sklearn.metrics.mean_absolute_percentage_error(v, u)",
     "polyloss.mape_loss(u, v) / 100",
     "scikit-learn's MAPE is a fraction, polyloss' (Keras') a percentage; scikit-learn floors |y| at the "
     "float64 machine epsilon, polyloss at 1e-7: equal unless a target is that small."),
    ("scikit-learn", "sklearn.metrics.mean_squared_log_error(vp, up)",
     "polyloss.msle_loss(up, vp)",
     "scikit-learn refuses values <= -1 and clamps nothing; polyloss clamps at 1e-7 (Keras'): equal for values "
     ">= 1e-7."),
    # ------------------------------------------------------------- torchvision, the article
    ("torchvision", "torchvision.ops.sigmoid_focal_loss(XB, TB, alpha=0.25, gamma=2.0, reduction='mean')",
     "polyloss.sigmoid_focal_loss(xb, tb, alpha=0.25, gamma=2.0)",
     "torchvision's default reduction is 'none', polyloss' 'mean'; its alpha=-1 is alpha=None."),
    ("torchvision", "torchvision.ops.sigmoid_focal_loss(XB, TB, alpha=-1, gamma=2.0, reduction='sum')",
     "polyloss.sigmoid_focal_loss(xb, tb, alpha=None, gamma=2.0, reduction='sum')",
     "A negative alpha switches the weighting off in torchvision."),
    ("reference article", "DiceLoss()(PB, TB)",
     "polyloss.dice_loss(pb, tb, smooth_nr=2.0, smooth_dr=1.0)",
     "The article adds smooth=1 inside 2(I + 1): smooth_nr=2, smooth_dr=1; dim 0 is the batch."),
    ("reference article", "FocalLoss(gamma=2, alpha=A)(X, L)",
     "polyloss.focal_loss(x, labels, gamma=2.0, alpha=a)",
     "alpha is per class, as a tensor; the mean is over all elements."),
    # ------------------------------------------------ MONAI composites (loss objects add up)
    ("MONAI", "monai.losses.DiceCELoss(to_onehot_y=True, softmax=True)(X, L1)",
     "(polyloss.DiceLoss(axis=1, activation='softmax', smooth_nr=1e-5, smooth_dr=1e-5) "
     "+ polyloss.CrossEntropyLoss())(x, labels)",
     "A composite loss object: the sum of its parts, called with the same arrays. lambda_dice and "
     "lambda_ce are coefficients (lambda_dice * DiceLoss(...) + lambda_ce * CrossEntropyLoss()); MONAI's "
     "label_smoothing is the cross-entropy's, its jaccard=True a JaccardLoss part."),
    ("MONAI", "monai.losses.DiceFocalLoss(to_onehot_y=True, softmax=True, lambda_focal=0.5)(X, L1)",
     "(polyloss.DiceLoss(axis=1, activation='softmax', smooth_nr=1e-5, smooth_dr=1e-5) "
     "+ 0.5 * polyloss.SigmoidFocalLoss(gamma=2.0, alpha=None))(x, onehot)",
     "MONAI's focal part is its FocalLoss(use_softmax=False) whatever the Dice activation: a sigmoid focal "
     "loss of the logits against the one-hot target, averaged over N*C*H*W, in float32 (MONAI's alpha is "
     "SigmoidFocalLoss' alpha, default None). Both parts take the one-hot target. Its 'sum' sums the "
     "focal part's spatial means: (1 / (H*W)) * SigmoidFocalLoss(reduction='sum')."),
    ("MONAI", "monai.losses.GeneralizedDiceFocalLoss(to_onehot_y=True, softmax=True)(X, L1)",
     "(polyloss.GeneralizedDiceLoss(axis=1, activation='softmax', smooth_nr=1e-5, smooth_dr=1e-5) "
     "+ polyloss.SigmoidFocalLoss(gamma=2.0, alpha=None))(x, onehot)",
     "As DiceFocalLoss: a sigmoid focal part on the one-hot target, in float32 (so are MONAI's "
     "generalized-Dice class weights); lambda_gdl and lambda_focal are coefficients."),
    ("MONAI", "monai.losses.FocalLoss(use_softmax=True, to_onehot_y=True, gamma=2.0, alpha=0.25)(X, L1)",
     "polyloss.focal_loss(x, labels, gamma=2.0, alpha=[0.75, 0.25, 0.25]) / 3",
     "MONAI's softmax focal loss weights class 0 by 1 - alpha and the others by alpha (a sequence alpha "
     "is per class), and its 'mean' divides by C times the pixel count; it computes in float32."),
)
