"""The stand-ins in tests/fakes.py keep the real classes' methods and signatures.

A fake that drifts from the class it stands for lets tests pass against an interface that no
longer exists; these tests fail instead, naming the method.
"""

from __future__ import annotations

import inspect

import pytest
from fakes import RecordingContext

from resnet_edu.engine.tasks import JobContext

FAKES = [(RecordingContext, JobContext)]


def _shape(function) -> list[tuple]:
    """A signature as (name, kind, default) per parameter: what a caller depends on (annotations aside)."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


def _public_methods(cls) -> dict[str, list[tuple]]:
    return {name: _shape(member) for name, member in inspect.getmembers(cls, inspect.isfunction)
            if not name.startswith("_")}


@pytest.mark.parametrize("fake, real", FAKES, ids=lambda cls: cls.__name__)
def test_a_fake_has_every_method_of_the_real_class_with_the_same_signature(fake, real):
    fake_methods, real_methods = _public_methods(fake), _public_methods(real)
    assert set(fake_methods) == set(real_methods), "methods differ from the real class"
    for name, signature in real_methods.items():
        assert fake_methods[name] == signature, f"{fake.__name__}.{name}: {fake_methods[name]} vs {signature}"


@pytest.mark.parametrize("fake, real", FAKES, ids=lambda cls: cls.__name__)
def test_a_fake_has_the_real_class_s_fields(fake, real):
    """What a job reads from its context (job_id, params, store, device) is there on the fake too."""
    fields = [name for name in inspect.signature(real).parameters if not name.startswith("_")]
    instance = fake({})
    missing = [name for name in fields if name != "stop_event" and not hasattr(instance, name)]
    assert not missing, missing
