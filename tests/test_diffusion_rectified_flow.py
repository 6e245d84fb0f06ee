import torch

from worldsim.diffusion.noise_levels import (
    NoiseLevelConfig,
    prefix_mask,
    sample_clean_prefix_lengths,
    sample_noise_levels,
)
from worldsim.diffusion.rectified_flow import (
    add_noise,
    make_flow_batch,
    masked_velocity_loss,
    one_step_estimate,
    velocity_target,
)


def _clips(batch=4, length=10, size=4):
    return torch.rand(batch, length, 3, size, size, generator=torch.Generator().manual_seed(0)) * 2 - 1


def test_noisy_frame_endpoints_and_velocity():
    x, eps = _clips(), torch.randn(4, 10, 3, 4, 4)
    ones, zeros = torch.ones(4, 10), torch.zeros(4, 10)
    assert torch.equal(add_noise(x, eps, ones), x)
    assert torch.equal(add_noise(x, eps, zeros), eps)
    t = torch.rand(4, 10)
    x_t = add_noise(x, eps, t)
    v = velocity_target(x, eps)
    # v is d x_t / dt, and a single Euler step with the true velocity lands exactly on the data
    h = 1e-3
    torch.testing.assert_close((add_noise(x, eps, t + h) - x_t) / h, v, rtol=1e-2, atol=1e-2)
    torch.testing.assert_close(one_step_estimate(x_t, v, t), x, rtol=1e-5, atol=1e-5)


def test_noise_levels_are_independent_per_frame_and_in_range():
    for distribution in ("logit_normal", "uniform"):
        config = NoiseLevelConfig(distribution=distribution)
        t = sample_noise_levels(config, (64, 32), torch.Generator().manual_seed(1))
        assert t.shape == (64, 32) and bool((t > 0).all() and (t < 1).all())
        assert t.std(dim=1).min() > 0  # frames of a clip differ: diffusion forcing
    shifted = sample_noise_levels(NoiseLevelConfig(mean=1.0), (4096,), torch.Generator().manual_seed(2))
    assert shifted.mean() > 0.6  # positive mean favours clean frames


def test_clean_prefix_longer_than_half_and_leaves_noised_frames():
    for length in (3, 4, 8, 9, 32):
        lengths = sample_clean_prefix_lengths(2000, length, 0.5, torch.Generator().manual_seed(length))
        used = lengths[lengths > 0]
        assert 0.4 < used.numel() / 2000 < 0.6
        assert bool((used > length / 2).all()) and bool((used <= length - 1).all())
        assert set(used.tolist()) == set(range(length // 2 + 1, length))
    assert int(sample_clean_prefix_lengths(100, 8, 0.0).max()) == 0


def test_flow_batch_prefix_is_clean_and_excluded_from_loss():
    x = _clips(batch=64, length=8)
    batch = make_flow_batch(x, NoiseLevelConfig(long_context_prob=1.0), torch.Generator().manual_seed(3))
    context = batch.loss_mask == 0
    assert bool(context.any(dim=1).all()), "every clip has a prefix when long_context_prob = 1"
    lengths = context.sum(dim=1)
    assert torch.equal(context, prefix_mask(lengths, 8)), "the clean frames form a prefix"
    assert bool((lengths > 4).all())
    assert bool((batch.noise_levels[context] == 1).all())
    assert torch.equal(batch.noisy[context], x[context])
    # predictions on the prefix do not change the loss; on a noised frame they do
    prediction = batch.target.clone()
    assert float(masked_velocity_loss(prediction, batch)) == 0.0
    prediction[context] += 5.0
    assert float(masked_velocity_loss(prediction, batch)) == 0.0
    prediction[~context] += 1.0
    assert abs(float(masked_velocity_loss(prediction, batch)) - 1.0) < 1e-5


def test_without_long_context_every_frame_is_noised_and_scored():
    batch = make_flow_batch(_clips(), NoiseLevelConfig(long_context_prob=0.0), torch.Generator().manual_seed(4))
    assert bool((batch.loss_mask == 1).all()) and bool((batch.noise_levels < 1).all())
