"""Parameter and attribute documentation shared by both estimators (numpydoc)."""

COMMON_PARAMETERS = """\
hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of units of the ith hidden layer. An
        empty tuple gives a network with no hidden layer. At most 10,000
        layers of at most 2**31 - 1 units; a fit whose estimated memory
        (weights, gradients, optimizer state, one batch's activations) exceeds
        the device's raises a ``MemoryError`` (also a ``ValueError``) naming
        the sizes, before anything is allocated.

    activation : {'identity', 'logistic', 'tanh', 'relu', 'leaky_relu', 'elu', \
'selu', 'gelu', 'silu', 'softplus'}, default='relu'
        Activation of the hidden layers. The first four are scikit-learn's.

    solver : {'adam', 'sgd', 'lbfgs', 'adamw', 'amsgrad', 'nadam', 'radam', \
'rmsprop', 'adagrad', 'adadelta', 'adamax'}, default='adam'
        The optimizer. Stochastic solvers follow ``torch.optim``'s algorithms;
        'lbfgs' is full-batch L-BFGS (scipy), as in scikit-learn. 'rmsprop'
        and 'adadelta' use ``beta_2`` as their smoothing constant; 'adamw'
        applies ``alpha`` (its L2 part) as decoupled weight decay,
        ``w -= lr * alpha * w``, not scaled by the batch and not part of ``loss_``.

    alpha : float, default=0.0001
        Strength of the penalty on the weights (never the biases), scaled as
        scikit-learn scales it: ``0.5 * alpha * ||W||^2 / batch_weight`` is
        added to each mini-batch loss, so grids transfer unchanged.

    batch_size : int or 'auto', default='auto'
        Rows per mini-batch; 'auto' is ``min(200, n_samples)``. ``batch_size=n``
        is batch optimisation, ``1`` stochastic. Ignored by 'lbfgs'.

    learning_rate : str or schedule object, default='constant'
        Learning-rate schedule, for every stochastic solver: 'constant',
        'invscaling' (scikit-learn's ``eta0 / (t + 1) ** power_t``),
        'adaptive' (divide by 5 when the loss plateaus), 'inverse_time'
        (``eta0 / (1 + decay_rate * epoch)``), 'exponential'
        (``eta0 * decay_rate ** epoch``), 'step', 'cosine' (annealed to ~0 over
        ``max_iter`` epochs; a ``warm_start`` fit restarts it over its own
        ``max_iter``, ``partial_fit`` counts on), or a schedule object from :mod:`skdl.optim` whose
        parameters are searchable as ``learning_rate__<name>`` (an object keeps
        its own parameters: ``CosineSchedule(t_max=...)``).

    learning_rate_init : float, default=0.001
        Initial learning rate ``eta0`` (scikit-learn's default, Adam's value),
        used as it is by every solver but 'adadelta', whose ``lr`` multiplies a
        unit-free step (torch's default 1.0): 'adadelta' reads it relative to
        the default, ``lr = learning_rate_init / 0.001``, so the default runs
        torch's Adadelta (read as 0.001 it barely moved: scaled breast_cancer
        at 0.63 train accuracy after 200 epochs, now 1.0). Ignored by 'lbfgs'.

    power_t : float, default=0.5
        Exponent of the 'invscaling' schedule.

    max_iter : int, default=200
        Maximum number of epochs (stochastic solvers) or iterations ('lbfgs').

    shuffle : bool, default=True
        Whether to shuffle the rows every epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the shuffling, dropout and the validation split.
        With an int ``r`` and ``n_init=k`` the models use ``r, r+1, ...,
        r+k-1``. The global torch generator is never touched; with None the
        seeds are drawn from numpy's global generator, as scikit-learn does.

    tol : float, default=1e-4
        Tolerance of the no-improvement stopping rule (and ``gtol`` of 'lbfgs').

    verbose : bool or int, default=False
        Print the loss (and validation score) every epoch.

    warm_start : bool, default=False
        Reuse the previous solution (and optimizer state) as initialisation.
        The layer sizes must stay those of the fitted weights (a ValueError
        otherwise, as for ``partial_fit``); set warm_start=False to change them.

    momentum : float, default=0.9
        Momentum of 'sgd', in [0, 1].

    nesterovs_momentum : bool, default=True
        Use Nesterov's momentum with 'sgd' (for momentum > 0).

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows (stratified for single-
        output classification), stop when the validation metric stops
        improving, and keep the best weights.

    validation_fraction : float, default=0.1
        Fraction of the rows held out for early stopping, in [0, 1).

    beta_1 : float, default=0.9
        Decay of the first-moment estimate (Adam family), in [0, 1).

    beta_2 : float, default=0.999
        Decay of the second-moment estimate (Adam family; smoothing constant
        of 'rmsprop' and 'adadelta'), in [0, 1).

    epsilon : float, default=1e-8
        Numerical-stability constant of the adaptive solvers. 'adadelta' reads
        it relative to the default, ``eps = epsilon / 1e-8 * 1e-6``, so the
        default is torch's Adadelta ``eps=1e-6``.

    n_iter_no_change : int, default=10
        Epochs without improvement by ``tol`` before stopping.

    max_fun : int, default=15000
        Maximum number of loss evaluations of 'lbfgs'.

    depth : int, default=None
        Number of hidden layers. With ``width``, builds ``(width,) * depth`` in
        place of ``hidden_layer_sizes`` so each is searchable on its own; alone,
        repeats the first entry of ``hidden_layer_sizes``. 0 gives no hidden
        layer; at most 10,000. ``depth``/``width`` win over a non-default
        ``hidden_layer_sizes``, with a warning.

    width : int, default=None
        Units per hidden layer, at most 2**31 - 1; see ``depth``.

    activation_param : float, default=None
        The slope of 'leaky_relu' (default 0.01) or the alpha of 'elu'
        (default 1.0); ignored by the other activations.

    init : {'auto', 'sklearn', 'lecture', 'he_normal', 'he_uniform', \
'xavier_normal', 'xavier_uniform', 'lecun_normal', 'orthogonal', 'zeros'}, \
default='auto'
        Weight initialisation. 'auto' (also by name, 'sklearn') is
        scikit-learn's rule, drawn as scikit-learn draws it: each layer's
        weights, then its biases, from ``U(-b, b)`` with
        ``b = sqrt(6 / (fan_in + fan_out))`` (Glorot uniform),
        ``b = sqrt(2 / (fan_in + fan_out))`` for 'logistic', from
        ``numpy.random.RandomState(seed)``; an int ``random_state`` thus starts
        from the very weights scikit-learn's MLP starts from. 'lecture' is the
        lecture's rule: He ``N(0, 2/fan_in)`` for the ReLU family,
        ``N(0, 1/fan_in)`` for tanh, logistic, identity and selu. The named
        rules ('lecture' and the others) start biases at 0. Measured trade-off:
        on short trainings of scaled tabular data the default scores higher
        (``benchmarks/scores.py --seeds 3``: W1/W2/W3 0.9726/0.9450/0.9927 vs
        'lecture' 0.9659/0.9251/0.9819; 20 passes of 9 ``partial_fit`` chunks
        on friedman1: R^2 0.726 vs 0.668), and its first epoch's loss is lower
        on unscaled data (iris 1.59 vs 4.19); 'lecture' is the lecture's
        variance-preserving choice for deep ReLU stacks (not measured here).
        'zeros' warns: it keeps every hidden unit identical.

    penalty : {'l2', 'l1', 'elasticnet'} or None, default='l2'
        The penalty on the weights. 'l1' is applied by soft-thresholding after
        each step, so weights reach exact zeros. The threshold is taken in the
        solver's own metric (preconditioned proximal gradient): ``lr * alpha /
        batch_weight`` with 'sgd', and that divided per weight by the step's
        preconditioner with the adaptive solvers (Adam: ``sqrt(v_hat) + eps``),
        so L1 acts under them at scikit-learn's usual ``alpha``: on scaled
        digits with the default 'adam', ``alpha=1`` zeroes over half the first
        layer's weights in 20 epochs.

    l1_ratio : float, default=0.15
        Share of L1 in 'elasticnet': ``alpha * (l1_ratio * ||W||_1 +
        (1 - l1_ratio) / 2 * ||W||^2)``.

    dropout : float or array-like of float, default=0.0
        Probability of dropping each hidden unit while training (inverted
        dropout; prediction is deterministic). One value for every hidden
        layer, or one per hidden layer. Not with 'lbfgs' (a ``ValueError``).

    early_stopping_metric : {'score', 'loss'}, default='score'
        What early stopping monitors: the validation score (scikit-learn's
        behaviour) or the validation loss.

    decay_rate : float, default=None
        Decay of the 'inverse_time', 'exponential' and 'step' schedules (None
        keeps the schedule's own default). With another schedule, or a schedule
        object, it is ignored, with a warning.

    n_init : int, default=1
        Number of initialisations trained together as one batched stack; the
        best (validation score with early stopping, else training loss) is kept.
        At most 1,000,000.

    ensemble : bool, default=False
        Keep all ``n_init`` members (a deep ensemble) and predict with their
        average: mean probabilities for the classifier (``predict`` takes
        their argmax, ``predict_log_proba`` the log of the mean), mean
        prediction for the regressor. ``coefs_`` / ``intercepts_`` then hold
        the member that ``ensemble=False`` would keep. ``warm_start=True`` and
        ``partial_fit`` continue every member (each from its own weights,
        optimizer and generator state; ``n_init`` must stay the number of
        members; no ``partial_fit`` with bagging). The members' spread:
        ``MLPRegressor.predict(X, return_std=True)``,
        ``MLPClassifier.predict_proba_members(X)``.

    bootstrap : bool, default=False
        Bagging inside the stack (needs ``ensemble=True``): each member trains
        on a sample of the rows drawn with replacement, as scikit-learn's
        :class:`~sklearn.ensemble.BaggingClassifier` draws it
        (``np.random.RandomState(random_state + j)``), so
        ``MLPClassifier(n_init=10, ensemble=True, bootstrap=True)`` is
        ``BaggingClassifier(MLPClassifier(), n_estimators=10)`` trained as one
        computation. Member ``j`` weighs each row by its count in its draw:
        it is exactly a separate fit with ``sample_weight=counts`` and
        ``random_state + j`` (with ``sample_weight``, rows are drawn with
        probabilities proportional to it and the counts replace it, as in
        scikit-learn; ``sample_weight`` of all ones draws as None).

    max_samples : int, float or None, default=None
        Rows drawn per member (needs ``ensemble=True``): None draws
        ``n_samples``, an int that many, a float in (0, 1] that share of
        ``n_samples`` (of ``sample_weight.sum()`` with ``sample_weight``).
        With ``bootstrap=False`` and ``max_samples`` set, the rows are drawn
        without replacement (pasting).

    oob_score : bool, default=False
        Estimate the generalisation score on the out-of-bag rows
        (``oob_score_``): each training row is predicted by the members that
        did not draw it. Needs ``bootstrap=True``.

    device : str or torch.device, default='auto'
        Where to train: 'auto' picks CUDA, then MPS, then the CPU.

    dtype : {'auto', 'float32', 'float64'}, default='auto'
        Floating-point precision of training. 'auto' trains on the CPU in X's
        dtype (float32 or float64), as scikit-learn does, so ``coefs_``,
        ``intercepts_`` and the predictions have X's dtype; on an accelerator
        (CUDA, MPS) it trains in float32, because GPUs run float64 at a small
        fraction of float32's speed (and MPS has no float64), and under
        ``precision``. 'float32' or 'float64' trains in that dtype whatever X's.
        A warm start or ``partial_fit`` continues in the fitted weights' dtype.

    precision : {'bf16', 'fp16'} or None, default=None
        Mixed-precision training: the matrix products of the training forward
        and backward passes run in bfloat16 ('bf16') or float16 ('fp16'), while
        the weights, the optimizer state and the updates stay in float32
        (needs ``dtype='float32'`` or 'auto'; not with 'lbfgs'). 'fp16' adds a dynamic
        loss scale per model, as ``torch.amp.GradScaler``: it starts at 2**16,
        is halved (and the model's step skipped) on a non-finite gradient and
        doubled after 2000 finite steps. Meant for GPUs with bf16/fp16 tensor
        cores; on a CPU without bf16/fp16 matrix units (AMX, AVX512-BF16) it is
        several times slower than float32. Prediction and the early-stopping
        validation always run in full precision. None trains every operation
        in ``dtype``."""

COMMON_ATTRIBUTES = """\
loss_ : float
        The loss of the last epoch (data loss plus penalty).

    best_loss_ : float or None
        The lowest training loss; None with early stopping.

    loss_curve_ : list of float
        The loss of every epoch.

    validation_loss_curve_ : list of float or None
        The validation loss of every epoch, with early stopping.

    validation_scores_ : list of float or None
        The validation score of every epoch, with early stopping.

    best_validation_score_ : float or None
        The best validation score, with early stopping.

    history_ : History (a list of dict)
        One record per epoch: 'epoch', 'train_loss', 'val_loss',
        'val_score', 'learning_rate', 'seconds'; ``history_.column(name)``
        gives an array, ``history_.to_frame()`` a pandas DataFrame.

    t_ : int
        Number of training rows seen.

    coefs_ : list of ndarray of shape (n_in, n_out)
        Weight matrices, one per layer.

    intercepts_ : list of ndarray of shape (n_out,)
        Bias vectors, one per layer.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features, when X has string column names.

    n_iter_ : int
        Epochs (or L-BFGS iterations) run by the last call to fit.

    n_layers_ : int
        Number of layers, input and output included.

    n_outputs_ : int
        Number of outputs.

    out_activation_ : str
        Name of the output activation.

    members_ : list of (coefs, intercepts)
        With ``ensemble=True``: each member's weight matrices and bias vectors
        (shapes as ``coefs_`` / ``intercepts_``), in seed order
        (``random_state + j``). Absent otherwise.

    members_history_ : list of History
        With ``ensemble=True``: each member's ``history_``.

    estimators_samples_ : list of ndarray
        With ``bootstrap=True`` or ``max_samples``: each member's in-bag row
        indices (with repeats), as scikit-learn's bagging.

    oob_score_ : float
        With ``oob_score=True``: the out-of-bag score (accuracy for the
        classifier, R^2 for the regressor)."""
