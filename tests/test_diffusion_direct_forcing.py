import torch
from torch import nn

from worldsim.diffusion.direct_forcing import direct_forcing_backward, estimate_frames, trajectory_length
from worldsim.diffusion.noise_levels import NoiseLevelConfig
from worldsim.train.config import DirectForcingConfig
from worldsim.train.schedules import clips_for_step


class RecordingModel(nn.Module):
    """Predicts v = scale·x_t (one learnable scale) and remembers every input clip."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(0.5))
        self.inputs = []

    def forward(self, frames, noise_levels, discrete=None, continuous=None):
        self.inputs.append((frames.detach().clone(), noise_levels.detach().clone()))
        return self.scale * frames


def test_estimate_at_noise_level_one_is_the_ground_truth():
    clean = torch.rand(2, 3, 3, 4, 4)
    estimate = estimate_frames(RecordingModel(), None, clean, None, None, 1.0, 1.0)
    torch.testing.assert_close(estimate, clean)


def test_estimate_is_one_euler_step_from_a_noised_copy():
    model = RecordingModel()
    clean = torch.rand(1, 2, 3, 4, 4)
    estimate = estimate_frames(model, None, clean, None, None, 0.5, 0.5, torch.Generator().manual_seed(0))
    noisy, levels = model.inputs[0]
    assert bool((levels == 0.5).all())
    torch.testing.assert_close(estimate, (noisy + 0.5 * 0.5 * noisy).clamp(-1, 1))


def test_chronological_clips_use_estimated_context_and_accumulate_gradients():
    clip, context, clips = 6, 4, 3
    length = trajectory_length(clip, context, clips)
    assert length == 6 + 2 * 2
    clean = torch.rand(2, length, 3, 4, 4) * 2 - 1
    model, estimator = RecordingModel(), RecordingModel()
    backward_calls = []

    def backward(loss):
        backward_calls.append(float(loss.detach()))
        loss.backward()

    mean_loss = direct_forcing_backward(model, estimator, clean, None, None, clip, context, clips,
                                        NoiseLevelConfig(), (1.0, 1.0), backward, torch.Generator().manual_seed(0))
    assert len(backward_calls) == clips and model.scale.grad is not None
    assert abs(mean_loss - sum(backward_calls)) < 1e-5  # each clip's loss is scaled by 1/K
    for k, (frames, levels) in enumerate(model.inputs):
        start = k * (clip - context)
        assert frames.shape[1] == clip
        assert bool((levels[:, :context] == 1).all()) and bool((levels[:, context:] < 1).all())
        # with estimates at t = 1 the context is exactly the ground truth of the right window
        torch.testing.assert_close(frames[:, :context], clean[:, start:start + context])


def test_context_of_later_clips_comes_from_the_model_not_the_ground_truth():
    clip, context = 6, 4
    clean = torch.rand(1, trajectory_length(clip, context, 2), 3, 4, 4) * 2 - 1
    model = RecordingModel()
    direct_forcing_backward(model, RecordingModel(), clean, None, None, clip, context, 2, NoiseLevelConfig(),
                            (0.5, 0.5), lambda loss: loss.backward(), torch.Generator().manual_seed(0))
    second_context = model.inputs[1][0][:, :context]
    assert not torch.allclose(second_context, clean[:, 2:2 + context])


def test_curriculum_grows_the_number_of_clips():
    config = DirectForcingConfig(clips_start=1, clips_max=4, curriculum_steps=300)
    counts = [clips_for_step(step, config) for step in (0, 99, 100, 200, 300, 10_000)]
    assert counts == [1, 1, 2, 3, 4, 4]
