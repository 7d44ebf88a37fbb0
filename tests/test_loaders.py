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
