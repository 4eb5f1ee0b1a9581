"""How to reproduce other libraries' Dice, Jaccard, Tversky and focal numbers with polyloss.

Data for the docs' conventions page, and evaluated row by row by
``tests/test_conventions.py`` (against the real library where installed, or against a
transcription of its source, cited there). Each row is ``(library, their call,
polyloss call, note)``. In the calls:

- ``x``: logits ``(N, C, H, W)``; ``p = softmax(x, axis=1)``; ``labels``: a class map
  ``(N, H, W)``; ``onehot``: its one-hot ``(N, C, H, W)``; ``w``: per-class weights;
- ``xb``: binary logits ``(N, H, W)``, ``pb = sigmoid(xb)``, ``tb``: 0/1 targets ``(N, H, W)``;
- ``x_last``, ``onehot_last``: channel-last ``(N, H, W, C)`` versions;
- capitals (``X``, ``L``, ``L1 = labels[:, None]``, ``OH``, ``XB``, ``TB``) are the torch
  tensors of the same data.
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
     "Keras 3.15's alpha multiplies sum((1 - y_pred) y_true), the false negatives: alpha and beta swap."),
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
    # ------------------------------------------------------------------ kornia
    ("kornia", "kornia.losses.dice_loss(X, L, average='macro')",
     "polyloss.dice_loss(x, labels, axis=1, activation='softmax', smooth_nr=0.0, smooth_dr=1e-8)",
     "kornia averages over the classes present in each sample: equal when every class is present."),
    ("kornia", "kornia.losses.dice_loss(X, L)",
     "polyloss.dice_loss(p, onehot, smooth_nr=0.0, smooth_dr=1e-8)",
     "kornia's default 'micro' pools the classes of a sample: polyloss' axis=None on probabilities."),
    ("kornia", "kornia.losses.tversky_loss(X, L, alpha=0.3, beta=0.7)",
     "polyloss.tversky_loss(x, labels, axis=1, activation='softmax', alpha=0.3, beta=0.7, smooth_nr=0.0, "
     "smooth_dr=1e-8)",
     "Per class, averaged over the classes present: equal when every class is present."),
    ("kornia", "kornia.losses.focal_loss(X, L, alpha=0.25, gamma=2.0, reduction='mean')",
     "polyloss.focal_loss(x, labels, gamma=2.0, alpha=[0.75, 0.25, 0.25]) / 3",
     "kornia weights class 0 by 1 - alpha and the others by alpha, and its 'mean' divides by C times the "
     "pixel count."),
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
