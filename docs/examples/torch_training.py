"""Train a small classifier and a segmenter with PyTorch and polyloss.

Autograd, a loss object as the criterion, torch.compile(fullgraph=True), and CUDA when
there is one. Run: python docs/examples/torch_training.py
"""

import torch

import polyloss

device = "cuda" if torch.cuda.is_available() else "cpu"
torch.manual_seed(0)

# --- classification ---------------------------------------------------------------
n, d, c = 512, 8, 3
x = torch.randn(n, d, device=device)
y = (x @ torch.randn(d, c, device=device)).argmax(dim=1)  # int64 class indices

model = torch.nn.Sequential(torch.nn.Linear(d, 32), torch.nn.ReLU(), torch.nn.Linear(32, c)).to(
    device
)
# Options given as Python lists are moved to the logits' device and dtype.
criterion = polyloss.CrossEntropyLoss(weight=[1.0, 1.0, 2.0], label_smoothing=0.05)
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)

for epoch in range(200):
    optimizer.zero_grad()
    loss = criterion(model(x), y)  # a torch.Tensor on `device`, with a grad_fn
    loss.backward()
    optimizer.step()
    if epoch % 50 == 0:
        print(f"epoch {epoch:3d}  loss {loss.item():.4f}")

accuracy = (model(x).argmax(dim=1) == y).float().mean().item()
print(f"final loss {loss.item():.4f}, accuracy {accuracy:.3f}, device {loss.device}")
assert accuracy > 0.9


# --- torch.compile ----------------------------------------------------------------
# polyloss compiles into one graph with the model (fullgraph=True: no graph break).
@torch.compile(fullgraph=True)
def compiled_loss(x, y):
    return criterion(model(x), y)


value = compiled_loss(x, y)
value.backward()
assert torch.allclose(value, criterion(model(x), y), rtol=1e-5)
print("compiled:", value.item())

# --- segmentation: cross-entropy + Dice on (N, C, H, W) logits --------------------
images = torch.randn(4, 1, 16, 16, device=device)
masks = (images[:, 0] > 0.5).long() + (images[:, 0] > 1.0).long()  # (N, H, W) in {0, 1, 2}
net = torch.nn.Conv2d(1, 3, kernel_size=3, padding=1).to(device)
opt = torch.optim.Adam(net.parameters(), lr=0.05)
dice = polyloss.DiceLoss(axis=1, activation="softmax")  # integer class map: one-hot inside
for _ in range(100):
    opt.zero_grad()
    logits = net(images)
    loss = polyloss.cross_entropy(logits, masks) + dice(logits, masks)
    loss.backward()
    opt.step()
per_class = polyloss.dice_loss(logits, masks, axis=1, activation="softmax", reduction="none")
print(
    "segmentation loss", round(loss.item(), 4), "per-sample-per-class Dice", tuple(per_class.shape)
)
assert per_class.shape == (4, 3)
