"""What a step records inside the net: gradient norms and layer responses.

Two measurements the trainer records every few steps:

* the L2 norm of the gradient of every convolution's weight (:func:`conv_gradient_norms`), to
  test the "vanishing gradients" story (the paper, Sec. 4.1, says BN keeps them healthy and that
  the degradation is "unlikely to be caused by vanishing gradients");
* the standard deviation of each 3x3 layer's response (:class:`ResponseRecorder`): its output
  after BN, before the ReLU and before the shortcut addition (the paper's Fig. 7).

How they are read is :mod:`resnet_edu.inside.gradients`.
"""

from __future__ import annotations

import torch
from torch import nn

from resnet_edu.models import Bottleneck, residual_blocks


def conv_gradient_norms(model: nn.Module) -> dict[str, float]:
    """{conv name: L2 norm of its weight's gradient}, in forward order; call after backward()."""
    names, grads = [], []
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d) and module.weight.grad is not None:
            names.append(name)
            grads.append(module.weight.grad.detach())
    if not grads:
        return {}
    norms = torch.stack([torch.linalg.vector_norm(g.float()) for g in grads]).tolist()  # one device sync
    return dict(zip(names, norms))


def conv_weight_norms(model: nn.Module) -> dict[str, float]:
    """{conv name: L2 norm of its weight}, in forward order.

    A conv followed by batch norm computes the same function for W and c·W, and its gradient
    shrinks as 1/c: what an SGD step does to such a layer is set by ‖∇W‖ / ‖W‖, not by ‖∇W‖
    alone (the step's size relative to the weights it changes).
    """
    names, weights = [], []
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            names.append(name)
            weights.append(module.weight.detach())
    if not weights:
        return {}
    norms = torch.stack([torch.linalg.vector_norm(w.float()) for w in weights]).tolist()  # one device sync
    return dict(zip(names, norms))


def relative_norms(grad_norms: dict[str, float], weight_norms: dict[str, float]) -> dict[str, float]:
    """{conv name: ‖∇W‖ / ‖W‖} for the convs both dicts have (nan where ‖W‖ is 0)."""
    return {name: (grad / weight_norms[name] if weight_norms[name] > 0 else float("nan"))
            for name, grad in grad_norms.items() if name in weight_norms}


def response_layers(model: nn.Module) -> dict[str, nn.Module]:
    """{name: BN module} whose output is a 3x3 layer's response (Fig. 7): after BN, before ReLU/addition."""
    layers: dict[str, nn.Module] = {"bn1": model.bn1} if hasattr(model, "bn1") else {}
    for block_name, block in residual_blocks(model):
        bns = ("bn2",) if isinstance(block, Bottleneck) else ("bn1", "bn2")  # the 3x3 conv's BN
        for bn in bns:
            layers[f"{block_name}.{bn}"] = getattr(block, bn)
    return layers


class ResponseRecorder:
    """Forward hooks that record the std of each 3x3 layer's response when armed.

    The std is computed inside the hook, from the tensor the BN produced, so a later
    operation cannot change what was recorded (the block adds with ``out + identity``,
    never in place). Disarmed, a hook costs one attribute check.

    Usage::

        recorder = ResponseRecorder(model)
        recorder.armed = True
        model(x)
        stds = recorder.collect()   # {"layer1.0.bn1": 0.83, ...}; disarms
    """

    def __init__(self, model: nn.Module) -> None:
        self.armed = False
        self._values: dict[str, torch.Tensor] = {}
        self._handles = [module.register_forward_hook(self._hook(name))
                         for name, module in response_layers(model).items()]

    def _hook(self, name: str):
        def record(_module, _inputs, output):
            if self.armed:
                self._values[name] = output.detach().float().std()
        return record

    def collect(self) -> dict[str, float]:
        self.armed = False
        names = list(self._values)
        values = torch.stack([self._values[n] for n in names]).tolist() if names else []
        self._values = {}
        return dict(zip(names, values))

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
