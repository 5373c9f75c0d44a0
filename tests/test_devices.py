"""The machine the app runs on, named as it is: the CPU's name, and the device label in both languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from resnet_edu import devices

AMD = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9B14 96-Core Processor\nflags\t\t: avx2\n"
INTEL = "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Platinum 8488C CPU @ 2.40GHz\nflags\t\t: amx_bf16\n"
ARM = "processor\t: 0\nBogoMIPS\t: 108.00\nHardware\t: BCM2835\n"


@pytest.mark.parametrize("cpuinfo, name", [(AMD, "AMD EPYC 9B14 96-Core Processor"),
                                           (INTEL, "Intel Xeon Platinum 8488C CPU @ 2.40GHz"),
                                           (ARM, "BCM2835")])
def test_the_cpu_is_named_as_the_operating_system_reports_it(cpuinfo, name):
    assert devices.cpu_name(cpuinfo) == name


def test_this_machines_cpu_has_a_name():
    name = devices.cpu_name()
    assert name and "(R)" not in name
    if Path("/proc/cpuinfo").exists() and "model name" in Path("/proc/cpuinfo").read_text():
        assert name.split()[0] in Path("/proc/cpuinfo").read_text()  # read from this machine, not a constant


def test_the_device_label_counts_threads_in_words_of_both_languages():
    assert devices.label_in("ko", "CPU · 2 threads · fp32") == "CPU · 스레드 2개 · fp32"
    assert devices.label_in("ko", "2 processes × CPU · 1 thread · fp32") == "프로세스 2개 × CPU · 스레드 1개 · fp32"
    assert devices.label_in("en", "CPU · 2 threads · fp32") == "CPU · 2 threads · fp32"
    assert devices.label_in("ko", "NVIDIA H200 · bf16") == "NVIDIA H200 · bf16"
