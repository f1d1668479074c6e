"""The contrastive trainer learns: the loss falls, and CLOP raises the effective rank on the synthetic data."""
import jax
import jax.numpy as jnp
import numpy as np

from simulations.training.encoder import init_mlp, mlp_apply
from simulations.training.evaluation import embedding_effective_rank
from simulations.training.losses import normalize
from simulations.training.prototypes import make_prototypes
from simulations.training.synthetic import SyntheticConfig, augment_synthetic, make_synthetic_data
from simulations.training.trainer import train_contrastive


def test_loss_falls_and_clop_raises_effective_rank():
    cfg = SyntheticConfig(n=150, batch_size=None)
    steps, seeds = 100, 3

    def run(seed, lam):
        k_data, k_net, k_proto, k_train = jax.random.split(jax.random.key(seed), 4)
        x, y, labelled = make_synthetic_data(k_data, cfg)
        net = init_mlp(k_net, (3, cfg.hidden, cfg.hidden, 3))
        aug = lambda k, xb: augment_synthetic(k, xb, cfg.aug_noise_var, cfg.flip_prob)  # noqa: E731
        protos = make_prototypes("orthonormal", k_proto, 3, 3)
        net, history = train_contrastive(k_train, net, x, jnp.where(labelled, y, -1), aug, protos,
                                         jnp.float32(cfg.learning_rate), lam, loss="infonce", steps=steps)
        return history, embedding_effective_rank(normalize(mlp_apply(net, x)))

    grid = jax.jit(jax.vmap(jax.vmap(run, in_axes=(None, 0)), in_axes=(0, None)))
    history, erank = (np.asarray(v) for v in grid(jnp.arange(seeds), jnp.array([0.0, 1.0], jnp.float32)))
    # InfoNCE alone (lambda = 0): the loss of the last 10 steps is below that of the first 10 for every
    # seed. The margin 0.3 nats is about half the drop measured at these sizes (first 10 steps 5.1-5.4,
    # last 10 about 4.78), far above the step-to-step noise of a full-batch loss.
    first, last = history[:, 0, :10].mean(-1), history[:, 0, -10:].mean(-1)
    assert np.all(last < first - 0.3), (first, last)
    # CLOP pulls each class towards its own orthonormal prototype: the normalised outputs span all three
    # dimensions more evenly. Paired by seed, the effective rank rises for every seed (measured
    # 2.85-2.91 -> 2.995 at these sizes; 0.05 is under half the smallest gap).
    assert np.all(erank[:, 1] > erank[:, 0] + 0.05), erank
