"""Where a model runs and at what precision: `RAG_DEVICE` and `RAG_EMBED_PRECISION` resolved
against what this machine has.

- device `auto` is CUDA when torch sees a GPU, else the CPU; `cuda` without one is a ConfigError.
- precision `auto` is float16 on a GPU, bfloat16 on a CPU that computes it natively (AVX-512 BF16
  or AMX: measured 2.3x float32 on MiniLM, cosine 0.99997), else float32. `int8` is the
  ONNX export quantized here (`index.embedders.quantized`), on the CPU only.

Whatever is chosen, a reduced precision is used only after agreeing with float32 on probe texts
(`AGREEMENT`, minimum cosine); otherwise the model falls back to float32 and says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from index.errors import ConfigError

DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8")
AGREEMENT = 0.99  # least cosine with float32 on the probe texts for a reduced precision to be used

PROBES = (
    "How did the talks change?",
    "A longer probe sentence about negotiations in Istanbul, 2022, and who led each delegation.",
    "CREATE INDEX CONCURRENTLY builds the index without taking a lock that blocks writes on the table; "
    "it scans the table twice and waits for every transaction that could use the index to finish.",
    "Section 2.3 › Fees\nThe appellant must pay the costs of the appeal within 30 days of the judgment.",
    "Überprüfung der Größe — 日本語のテキスト; ±5 V; I²C address 0x48.",
    "a",
    "The default is 100.",
    "Nous avons décidé de ne pas poursuivre, car les preuves étaient insuffisantes.",
)


@dataclass(frozen=True)
class Machine:
    """What the hardware offers (probed by `probe`, given by hand in tests)."""

    cuda: bool
    native_bf16: bool


def probe() -> Machine:
    import torch

    cpu_bf16 = getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)() or \
        getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
    return Machine(cuda=torch.cuda.is_available(), native_bf16=bool(cpu_bf16))


def check(device: str, precision: str) -> None:
    """Reject settings that name nothing (at the edge, before any model loads)."""
    if device not in DEVICES:
        raise ConfigError(f"device must be one of {', '.join(DEVICES)}, not '{device}' (RAG_DEVICE)")
    if precision not in PRECISIONS:
        raise ConfigError(f"embed precision must be one of {', '.join(PRECISIONS)}, not '{precision}' "
                          "(RAG_EMBED_PRECISION)")


def choose_device(setting: str, machine: Machine) -> str:
    if setting == "cuda" and not machine.cuda:
        raise ConfigError("RAG_DEVICE=cuda, but torch sees no CUDA device (a CPU-only torch wheel, or no GPU); "
                          "use RAG_DEVICE=auto or cpu, or install a CUDA build of torch (README: GPU)")
    if setting == "auto":
        return "cuda" if machine.cuda else "cpu"
    return setting


def choose_precision(setting: str, device: str, machine: Machine) -> str:
    if setting == "auto":
        if device == "cuda":
            return "fp16"
        return "bf16" if machine.native_bf16 else "fp32"
    if setting == "int8" and device != "cpu":
        raise ConfigError("RAG_EMBED_PRECISION=int8 runs on the CPU only (onnxruntime); use RAG_DEVICE=cpu")
    if setting == "fp16" and device != "cuda":
        raise ConfigError("RAG_EMBED_PRECISION=fp16 needs a GPU; on the CPU use bf16 or auto")
    return setting
