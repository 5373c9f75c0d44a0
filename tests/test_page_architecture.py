"""AppTest for the Architecture page: diagrams follow the controls and a live run's shortcut state."""

import pytest
from page_helpers import app_manager, open_page
from polling import wait_until
from streamlit.testing.v1 import AppTest

from resnet_edu.train import TrainConfig

# conftest.py's autouse fixture gives every test its own RESNET_EDU_RUNS_DIR and clears
# st.cache_resource afterwards (which stops the JobManager).
PAGE = "app_pages/architecture.py"


def _open(lang: str = "en") -> AppTest:
    return open_page(PAGE, lang)


def _dots(at: AppTest) -> list[str]:
    return [element.proto.spec for element in at.get("graphviz_chart")]


def _total_params(at: AppTest) -> int:
    table = at.dataframe[0].value
    return int(table.iloc[-1, 5])


def _metric(at: AppTest, label_start: str) -> str:
    return next(m.value for m in at.metric if m.label.startswith(label_start))


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_renders_in_both_languages(lang):
    at = _open(lang)
    dots = _dots(at)
    assert len(dots) >= 6  # two blocks, the stack, plain and residual
    assert all(dot.lstrip().startswith("digraph") for dot in dots)
    title = at.title[0].value
    assert ("구조" in title) if lang == "ko" else ("Architecture" in title)
    if lang == "ko":
        assert "항등 x" in dots[1] and "숏컷" in "".join(dots)
    last_row = [str(value) for value in at.dataframe[0].value.iloc[-1]]
    assert ("합계" in last_row) if lang == "ko" else ("total" in last_row)  # the table's total row, in words
    assert "total" not in last_row or lang == "en"


@pytest.mark.slow
def test_depth_picker_changes_the_table_and_diagrams():
    at = _open()
    assert _total_params(at) == 269_722  # ResNet-20
    at.selectbox(key="arch_net").set_value("cifar-56").run()
    assert not at.exception
    assert _total_params(at) == 853_018  # ResNet-56 (Table 6: 0.85M)
    assert "layer1: 9 × basic block" in _dots(at)[2]
    at.selectbox(key="arch_net").set_value("imagenet-34").run()
    assert not at.exception
    assert _total_params(at) == 21_797_672  # torchvision's resnet34 (option B, the ImageNet default)
    assert at.radio(key="arch_type").value == "B"
    assert _metric(at, "Multiply-adds") == "3.66G"
    at.selectbox(key="arch_net").set_value("imagenet-50").run()
    assert not at.exception
    assert '"conv3"' in _dots(at)[0] and "layer1: 3 × bottleneck" in _dots(at)[2]


def test_shortcut_toggle_and_option_change_the_block_diagram():
    at = _open()
    first_block = _dots(at)[0]
    assert '"add"' in first_block and "zero-pad (option A)" in first_block and "style=dashed" in first_block
    at.toggle(key="arch_shortcuts").set_value(False).run()
    assert not at.exception
    off = _dots(at)[0]
    assert '"add"' not in off and '"cut"' in off and "style=dashed" not in off
    assert "shortcuts off" in _dots(at)[2]
    at.toggle(key="arch_shortcuts").set_value(True).run()
    at.radio(key="arch_type").set_value("B").run()
    projected = _dots(at)[0]
    assert '"downsample.0"' in projected and "1x1 conv + BN (option B)" in projected
    assert '"downsample.0"' not in _dots(at)[1]  # inside a stage the shapes match: identity


def test_vgg19_cost_is_measured():
    at = _open()
    assert _metric(at, "VGG-19") == "19.6G"
    assert _metric(at, "34-layer nets") == "3.6G"
    assert _metric(at, "34-layer / VGG-19") == "18.6%"  # the paper: "only 18% of VGG-19"


@pytest.mark.slow
def test_follows_the_live_shortcut_state_of_a_running_run():
    """A real ResNet-32 training in the app's own JobManager (on this test's store), its stage-2
    shortcuts switched off: the page draws that net and that state, then its own controls once it ends."""
    at = _open()
    manager = app_manager()  # the one the page's scripts use
    (run_id,) = manager.submit([TrainConfig(depth=32, epochs=1, max_steps=100_000, batch_size=8, probe_every=0)])
    try:
        assert wait_until(lambda: manager.progress(run_id)["step"] > 0), "the run never took its first iteration"
        manager.set_shortcuts(run_id, False, stages=[2])
        assert wait_until(lambda: manager.shortcut_state(run_id) == {1: True, 2: False, 3: True})
        at.run()  # the page's next tick sees the live run
        at.selectbox(key="arch_follow").set_value(run_id).run()
        assert not at.exception, [e.value for e in at.exception]
        assert _total_params(at) == 464_154  # CIFAR ResNet-32, from the run's config
        stack = _dots(at)[2]
        assert stack.count("5 shortcuts") == 2 and stack.count("shortcuts off") == 1
        assert '"add"' not in _dots(at)[0]  # the stage radio starts at layer2, whose shortcuts are off
        assert any("ResNet-32" in info.value and "32 layers" in info.value for info in at.info)
        assert at.selectbox(key="arch_net").disabled and at.toggle(key="arch_shortcuts").disabled
    finally:
        manager.stop(run_id)
        assert manager.wait([run_id], timeout=120)

    at.run()  # the run ended: back to the page's own controls (ResNet-20), polling stops
    assert not at.exception, [e.value for e in at.exception]
    assert _total_params(at) == 269_722 and not at.selectbox(key="arch_net").disabled
    assert '"add"' in _dots(at)[0]


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_bottleneck_note_explains_the_paper_multiply_adds(lang):
    """Table 1 says 7.6G for ResNet-101; with the stride in the 3x3 conv this net measures 7.80G."""
    at = _open(lang)
    at.selectbox(key="arch_net").set_value("imagenet-101").run()
    assert not at.exception
    notes = " ".join(c.value for c in at.caption if "ResNet-101" in c.value)
    assert "7.6G" in notes and "7.80G" in notes and "conv3_1" in notes
    assert ("first 1x1 conv" in notes) if lang == "en" else ("첫 1x1 conv" in notes)
