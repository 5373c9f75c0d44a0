"""Why the Lab starts with the batch size and learning rate it shows: one plain sentence each, and the
measurements behind them (which machine, which seeds, fp32 and bf16) for whoever asks."""

from __future__ import annotations

from resnet_edu import devices
from resnet_edu.train import classroom
from ui import t


def batch_reason(recipe: str, device: str, dataset: str, batch: int) -> str:
    """One plain sentence: why the comparison trains in batches of ``batch``."""
    if recipe == "paper":
        return t(f"Batch {batch}, as in the paper (Sec. 4.2).", f"배치 {batch}: 논문(4.2절)과 같습니다.")
    if _device_kind(device) != "cpu":
        return t(f"Batch {batch}, the paper's: on a GPU a smaller batch would not show the gap sooner.",
                 f"배치 {batch}: 논문과 같습니다. GPU에서는 배치를 줄여도 차이가 더 빨리 보이지 않습니다.")
    return t(f"Batch {batch}, smaller than the paper's {classroom.PAPER_BATCH_SIZE}: on a computer without a GPU, "
             f"small batches show the gap between plain and residual nets sooner.",
             f"배치 {batch}: 논문({classroom.PAPER_BATCH_SIZE})보다 작습니다. GPU가 없는 컴퓨터에서는 작은 배치가 "
             f"plain 네트워크와 잔차 네트워크의 차이를 더 빨리 보여 줍니다.")


def lr_reason(batch: int, lr: float) -> str:
    """One plain sentence: why the comparison starts at the default learning rate ``lr``."""
    if lr == classroom.PAPER_LR:
        return t(f"Learning rate {lr:g}, as in the paper (Sec. 4.2).", f"학습률 {lr:g}: 논문(4.2절)과 같습니다.")
    return t(f"Learning rate {lr:g}: the paper's {classroom.PAPER_LR:g}, made smaller in step with the smaller "
             f"batch.", f"학습률 {lr:g}: 논문의 학습률({classroom.PAPER_LR:g})을 작아진 배치만큼 줄였습니다.")


def defaults_details(recipe: str, device: str, dataset: str, batch: int, lr: float, *, batch_is_default: bool,
                     lr_is_default: bool) -> str | None:
    """The measurements and the rule behind a default batch size and learning rate (Markdown), or None
    when there is nothing to explain (the paper's values, or values the teacher typed)."""
    parts = []
    if batch_is_default and recipe == "classroom" and _device_kind(device) == "cpu":
        parts.append(_cpu_batch_measurements(dataset, batch))
    if lr_is_default and lr != classroom.PAPER_LR:
        small, met, seeds = classroom.UNSCALED_LR_BATCH, classroom.UNSCALED_LR_SEEDS_MET, classroom.SEEDS_MEASURED
        parts.append(t(
            f"**Learning rate.** The paper's {classroom.PAPER_LR:g} is for batches of {classroom.PAPER_BATCH_SIZE}. "
            f"A batch of {batch} averages its gradient over {batch}/{classroom.PAPER_BATCH_SIZE} as many images, "
            f"so it takes that fraction of the step: {classroom.PAPER_LR:g} × {batch}/{classroom.PAPER_BATCH_SIZE} "
            f"= {lr:g} (the linear scaling rule, Goyal et al. 2017). With {classroom.PAPER_LR:g} at batch "
            f"{small}, ResNet-56 fell behind plain-20 in its first minute on the built-in synthetic set (it kept up "
            f"on {met['synthetic']} of {seeds} seeds); on CIFAR-10 photos it kept up on {met['real']} of {seeds}. "
            f"Only those two data sets were measured.",
            f"**학습률.** 논문의 학습률({classroom.PAPER_LR:g})은 배치 {classroom.PAPER_BATCH_SIZE}용입니다. 배치 "
            f"{batch}은(는) {batch}/{classroom.PAPER_BATCH_SIZE}만큼의 이미지로 기울기를 평균하므로 걸음도 그만큼 "
            f"줄입니다: {classroom.PAPER_LR:g} × {batch}/{classroom.PAPER_BATCH_SIZE} = {lr:g} (선형 스케일링 규칙, "
            f"Goyal 외 2017). 배치 {small}에서 논문의 학습률을 그대로 쓰면 내장 합성 데이터셋에서는 ResNet-56이 첫 "
            f"1분 동안 plain-20에 뒤처졌고(시드 {seeds}개 중 {met['synthetic']}개에서만 따라감), CIFAR-10 사진에서는 "
            f"따라갔습니다(시드 {seeds}개 중 {met['real']}개). 이 두 데이터셋에서만 쟀습니다."))
    return "\n\n".join(parts) or None


def _device_kind(device: str) -> str:
    return devices.available_devices()[0] if device == "auto" else device.split(":")[0]


def _cpu_batch_measurements(dataset: str, batch: int) -> str:
    """The measured medians behind the CPU batch, said as measured on the machine that measured them."""
    rows = classroom.CPU_MEDIAN_SECONDS[classroom.data_kind(dataset)]
    here = devices.resolve_precision("auto", devices.resolve_device("cpu"))
    order = sorted(rows, key=lambda precision: precision != here)  # this computer's precision first
    lines = "\n".join(f"- {precision}: " + ", ".join(
        t(f"{median:.0f} s in batches of {size}", f"배치 {size}: {median:.0f}초") if met == classroom.SEEDS_MEASURED else
        t(f"batches of {size} showed it on {met} of {classroom.SEEDS_MEASURED} seeds only",
          f"배치 {size}: 시드 {classroom.SEEDS_MEASURED}개 중 {met}개에서만")
        for size, (median, met) in rows[precision].items()) for precision in order)
    data = t("the built-in synthetic set", "내장 합성 데이터셋") if dataset == "synthetic" else t("real photos", "실제 사진")
    seeds = ", ".join(str(seed) for seed in range(classroom.SEEDS_MEASURED))
    seed_list, seed_list_ko = f"seeds {seeds}", f"시드 {seeds}"
    cores = devices.cpu_threads()
    name = devices.cpu_name()
    machine = t(f"{name}, {cores} core{'s' if cores != 1 else ''}", f"{'CPU' if name == 'a CPU' else name}, 코어 {cores}개")
    return t(
        f"**Batch size.** Measured on a {classroom.CPU_MEASURED_ON} with {data}: the "
        f"median time ({seed_list}) from the click on \"Fig. 1 + the fix\" until plain-56 was clearly behind "
        f"plain-20 while ResNet-56 kept up —\n{lines}\n\n"
        f"{batch} is the batch size that showed it on every seed in both number formats and soonest in fp32, "
        f"the format of CPUs without native bf16 (most laptops). This computer: {machine}, training in {here}; "
        f"times here will differ.",
        f"**배치 크기.** {classroom.CPU_MEASURED_ON_KO}에서 {data}(으)로 잰 값입니다. \"그림 1 + "
        f"해법\"을 누른 뒤 ResNet-56이 plain-20을 따라가는 동안 plain-56이 뚜렷이 뒤처질 때까지 걸린 시간의 "
        f"중앙값 ({seed_list_ko}) —\n{lines}\n\n"
        f"{batch}은(는) 두 숫자 형식 모두에서 모든 시드가 성능 저하를 보여 주었고 fp32(bf16을 기본 지원하지 않는 "
        f"CPU, 대부분의 노트북)에서 가장 빨랐던 배치 크기입니다. 이 컴퓨터: {machine}, 학습 형식 {here}; 여기서 걸리는 "
        f"시간은 다를 것입니다.")
