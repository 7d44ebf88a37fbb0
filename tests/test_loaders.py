import pytest
import torch

from labutils.data.loaders import TensorLoader, random_horizontal_flip, to_signed_unit_interval, to_unit_interval


def test_shuffled_epoch_covers_every_sample_once_and_order_changes():
    x = torch.arange(10)
    loader = TensorLoader(x, x * 10, batch_size=3, shuffle=True, seed=1)
    assert len(loader) == 4
    first = torch.cat([b[0] for b in loader])
    second = torch.cat([b[0] for b in loader])
    assert sorted(first.tolist()) == list(range(10))
    assert not torch.equal(first, second)
    # Pairs stay together.
    for xb, yb in loader:
        assert torch.equal(yb, xb * 10)


def test_same_seed_same_batches_and_state_dict_restores_the_next_epoch():
    x = torch.arange(20)
    a, b = TensorLoader(x, batch_size=4, shuffle=True, seed=3), TensorLoader(x, batch_size=4, shuffle=True, seed=3)
    assert [t[0].tolist() for t in a] == [t[0].tolist() for t in b]
    state = a.state_dict()
    expected = [t[0].tolist() for t in a]
    b.load_state_dict(state)
    assert [t[0].tolist() for t in b] == expected


def test_drop_last_and_unshuffled_order():
    x = torch.arange(10)
    assert len(TensorLoader(x, batch_size=3, drop_last=True)) == 3
    assert torch.equal(torch.cat([b[0] for b in TensorLoader(x, batch_size=3)]), x)


def test_batch_transforms():
    images = torch.tensor([[0, 255]], dtype=torch.uint8)
    torch.testing.assert_close(to_unit_interval(images), torch.tensor([[0.0, 1.0]]))
    torch.testing.assert_close(to_signed_unit_interval(images), torch.tensor([[-1.0, 1.0]]))
    batch = torch.arange(4.0).reshape(1, 1, 1, 4).repeat(1000, 1, 1, 1)
    flipped = random_horizontal_flip(batch, torch.Generator().manual_seed(0))
    is_flipped = (flipped[:, 0, 0, 0] == 3).float()
    assert 0.4 < is_flipped.mean() < 0.6
    assert torch.equal(flipped[is_flipped.bool()][0, 0, 0], torch.tensor([3.0, 2.0, 1.0, 0.0]))


def test_transform_applies_to_the_first_tensor_only():
    x = torch.full((4, 2), 255, dtype=torch.uint8)
    y = torch.arange(4)
    xb, yb = next(iter(TensorLoader(x, y, batch_size=4, transform=to_unit_interval)))
    assert xb.dtype == torch.float32 and xb.max() == 1.0
    assert torch.equal(yb, y)


def test_channels_last_keeps_values_and_changes_the_layout():
    from labutils.data.loaders import to_channels_last

    images = torch.rand(2, 3, 4, 4)
    out = to_channels_last(images)
    assert torch.equal(out, images)
    assert out.is_contiguous(memory_format=torch.channels_last) and not images.is_contiguous(memory_format=torch.channels_last)


# --- Generator states across devices --------------------------------------------------------------


def cuda_generator_state(seed: int, offset: int) -> torch.Tensor:
    """A CUDA generator's state as `get_state()` gives it: Philox's seed and offset, two int64 in 16 bytes."""
    return torch.tensor([seed, offset], dtype=torch.int64).view(torch.uint8)


def _flipping_loader(seed=3):
    images = torch.arange(40.0).reshape(10, 1, 1, 4)
    return TensorLoader(images, batch_size=4, shuffle=True, transform=random_horizontal_flip, seed=seed)


def _epoch(loader):
    return [b[0].flatten().tolist() for b in loader]


def test_on_the_cpu_both_generators_are_restored_exactly():
    a, b = _flipping_loader(), _flipping_loader()
    _epoch(a)
    state = a.state_dict()
    assert state["device_type"] == "cpu" and state["device_generator"].numel() == 5056
    expected = _epoch(a)  # order and flips
    b.load_state_dict(state)
    assert _epoch(b) == expected


@pytest.mark.parametrize("with_device_type", [True, False])  # False: a checkpoint from before it was saved
def test_a_cuda_generator_state_reseeds_the_cpu_one_repeatably_and_keeps_the_order(with_device_type):
    trained = _flipping_loader()
    _epoch(trained)
    state = {"generator": trained.generator.get_state(), "device_generator": cuda_generator_state(4, 32)}
    if with_device_type:
        state["device_type"] = "cuda"
    expected_order = torch.randperm(10, generator=trained.generator)
    first, again = _flipping_loader(), _flipping_loader()
    first.load_state_dict(state)
    again.load_state_dict(state)
    assert torch.equal(first.device_generator.get_state(), again.device_generator.get_state())
    assert torch.equal(torch.randperm(10, generator=first.generator), expected_order)
    fresh = _flipping_loader()
    assert not torch.equal(first.device_generator.get_state(), fresh.device_generator.get_state())


def test_the_reseeded_generator_differs_from_epoch_to_epoch():
    trained, seeds = _flipping_loader(), []
    for offset in (32, 64):  # a CUDA generator moves its offset every epoch, the CPU one its state
        _epoch(trained)
        loader = _flipping_loader()
        loader.load_state_dict({"generator": trained.generator.get_state(),
                                "device_generator": cuda_generator_state(4, offset), "device_type": "cuda"})
        seeds.append(loader.device_generator.initial_seed())
    assert seeds[0] != seeds[1]
