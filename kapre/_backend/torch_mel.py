"""Eager PyTorch's :class:`kapre.MelSpectrogram`: framing, window, FFT, power, the block-sparse mel product and the
logarithm in plain torch calls, a cache-sized chunk of frames at a time.

:class:`kapre.MelSpectrogram` selects this path through :data:`kapre._backend.EAGER_MEL_PATH` (``None`` on the other
backends, whose compilers run the layer's ``keras.ops`` composition as fast). It computes what that composition
computes, with in-place updates of fresh temporaries and no Keras dispatch (eager W2 5.1 -> 4.6 ms, W1 20.8 ->
17.9 ms). Where no gradient is recorded the chunks' temporaries live in scratch buffers reused from call to call
(:class:`TorchScratch`) and each chunk's bands go straight into the one output; under autograd the same steps run
out of place. Under ``torch.compile`` the layer compiles its generic composition, whose chunk function is
:meth:`EagerTorchMel.chunk` (the fused out-of-place chunk).
"""

from __future__ import annotations

import math
import threading

import torch
from keras import ops

from kapre._backend.torch import rfft, rfft_power, without_autograd
from kapre._frames import frame_chunks, frames_per_chunk, num_frames, row_chunks

__all__ = ["EagerTorchMel", "TorchScratch"]


class TorchScratch:
    """Scratch buffers that eager PyTorch's mel chunks write into (``out=``) and reuse from call to call, one set
    per thread (a layer may be called from several threads at once).

    Every call allocating its own temporaries costs page faults whenever the C allocator has handed the freed
    memory back to the system in between, which glibc does or not depending on the process's allocation
    history: the same 8 x 1 s log-mel (W2 settings) measured 0.6-0.8 ms in some processes and 1.9-2.6 ms in
    others (500-940 page faults a call). With the windowed frames, power and mel products in reused buffers
    (the FFT's output stays a fresh tensor), 13 fresh processes paid at most 4 faults per call, and in a process
    without the faults the speed is unchanged (0.83-1.13x, median 0.99x). A buffer grows to the largest chunk seen
    (about 4 MiB at the default chunk size) and lives as long as the layer; a copy of the layer gets empty scratch.
    """

    def __init__(self):
        self._local = threading.local()

    def __deepcopy__(self, memo):
        return TorchScratch()

    def __reduce__(self):
        return (TorchScratch, ())

    def view(self, slot: str, shape, dtype, device):
        """A contiguous tensor of ``shape`` and ``dtype`` over buffer ``slot`` (bytes, so one buffer serves several
        dtypes in turn); its contents are left over from earlier use."""
        buffers = self._local.__dict__.setdefault("buffers", {})
        nbytes = math.prod(shape) * dtype.itemsize
        buffer = buffers.get(slot)
        if buffer is None or buffer.device != device or buffer.numel() < nbytes:
            buffer = buffers[slot] = torch.empty(nbytes, dtype=torch.uint8, device=device)
        return buffer[:nbytes].view(dtype).view(shape)


class EagerTorchMel:
    """The eager PyTorch path of one :class:`kapre.MelSpectrogram` layer; holds the layer's scratch buffers.

    A copy (``copy.deepcopy``, pickling) gets empty scratch.
    """

    # What one more filterbank block costs, in kapre.constants.filterbank_blocks' unit (multiply-adds per frame): a
    # dispatched matmul per chunk. W2 (64 x 1 s, 4 chunks of 1,552 frames; 300 alternated calls, 2-core AMD EPYC,
    # natively and with AVX-512 off): 3 blocks (5,104 multiply-adds) at 2,048 2.70 and 2.65 ms, against 2.86 and
    # 2.85 with 2 (7,984) at 4,096; 4 blocks no faster. W1 (16 x 10 s, n_fft 2048): 12.28 ms with 6 blocks at
    # 2,048, 12.33 with 5 at 4,096, 12.40 with 8 at 1,024 (chunks of frames); in chunks of a clip all within 1 %.
    BLOCK_OVERHEAD = 2048.0

    def __init__(self):
        self.scratch = TorchScratch()

    def __deepcopy__(self, memo):
        return EagerTorchMel()

    def __reduce__(self):
        return (EagerTorchMel, ())

    @staticmethod
    def applies() -> bool:
        """False under ``torch.compile``, which compiles the layer's generic composition instead."""
        return not torch.compiler.is_compiling()

    @staticmethod
    def chunk(signals, frame_length: int, hop_length: int, n_fft: int, window, blocks, power: float, amin):
        """One chunk, ``(..., samples)`` to ``(..., frames, n_mels)``: ``|rfft(frames * window)| ** power`` through
        the filterbank ``blocks`` (``(start, stop, weights)``) and, when ``amin`` is given,
        ``10 * log10(max(., amin))``; out of place where a gradient is recorded."""
        spectrogram = rfft_power(signals.unfold(-1, frame_length, hop_length) * window, n_fft)
        if power == 1.0:  # the magnitude, with gradient 0 (not NaN) at silent bins, as kapre.Magnitude
            nonzero = spectrogram > 0
            spectrogram = torch.where(nonzero, torch.where(nonzero, spectrogram, 1.0).sqrt(), 0.0)
        parts = [torch.matmul(spectrogram[..., start:stop], weights) for start, stop, weights in blocks]
        mel = parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)
        if amin is None:
            return mel
        return torch.log10(mel.clamp_min_(amin)).mul_(10.0)

    def __call__(
        self,
        inputs,
        *,
        channels_last_in: bool,
        dtype: str,
        frame_length: int,
        hop_length: int,
        n_fft: int,
        window,
        blocks,
        padded_blocks,
        power: float,
        chunk_samples: int,
        amin: float | None,
        accelerator: bool = False,
    ):
        """``(batch, time, ch)`` or ``(batch, ch, time)`` waveforms to ``(batch, ch, frames, n_mels)``: the mel
        spectrogram, or with ``amin`` its ``10 * log10(max(., amin))`` (the reference and floor are the layer's).

        Without autograd the mel product uses ``padded_blocks`` (``(start, stop, bands, weights)``: the plan at
        :data:`BLOCK_OVERHEAD`, the weights zero-padded to :data:`kapre._backend.MATMUL_WIDTH_MULTIPLE` columns;
        ``None``: ``blocks`` as they are).
        The buffers' bookkeeping costs Python time: on a one-frame input 162 us per call against 123 us for the
        generic path; from a few frames on, the saved allocations and page faults outweigh it. Not on an
        ``accelerator``: there the caching allocator hands temporaries back without page faults and a call is bound
        by its Python work, so the chunks run out of place (:meth:`chunk`: 25 us less Python per call, measured on
        the CPU with the accelerator rule forced, and no copy of the mel product into the output).
        """
        x = inputs if isinstance(inputs, torch.Tensor) else ops.convert_to_tensor(inputs)
        x = x.to(getattr(torch, dtype))
        if channels_last_in:  # (batch, time, ch) -> (batch, ch, time); a reshape is free, a transpose is a copy
            x = x.squeeze(2).unsqueeze(1) if x.shape[2] == 1 else x.transpose(1, 2)
        rows, length = x.shape[0] * x.shape[1], x.shape[2]
        total = num_frames(length, frame_length, hop_length)
        chunks = frame_chunks(total, frames_per_chunk(rows, frame_length, chunk_samples))
        if accelerator or not (x.numel() and without_autograd(x, window)):  # or autograd records, or no element
            parts = [
                self.chunk(x[..., f0 * hop_length : (f1 - 1) * hop_length + frame_length],
                           frame_length, hop_length, n_fft, window, blocks, power, amin)
                for f0, f1 in chunks
            ]
            return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-2)
        if padded_blocks is None:
            padded_blocks = [(start, stop, weights.shape[-1], weights) for start, stop, weights in blocks]
        n_mels = sum(width for _, _, width, _ in padded_blocks)
        mel = x.new_empty((*x.shape[:-1], total, n_mels))  # (batch, ch, frames, mels)
        whole_clips = row_chunks(x.shape[0], x.shape[1], total, frame_length, chunk_samples)
        if whole_clips is not None:  # chunks of whole clips where a clip fits one: contiguous in the output
            for b0, b1 in whole_clips:
                self._chunk_into(mel[b0:b1], x[b0:b1], frame_length, hop_length, n_fft, window, padded_blocks,
                                 power, amin, contiguous=True)
            return mel
        for f0, f1 in chunks:
            signals = x[..., f0 * hop_length : (f1 - 1) * hop_length + frame_length]
            self._chunk_into(mel[..., f0:f1, :], signals, frame_length, hop_length, n_fft, window, padded_blocks,
                             power, amin)
        return mel

    def _chunk_into(self, mel, signals, frame_length, hop_length, n_fft, window, blocks, power, amin,
                    contiguous: bool = False):
        """:meth:`chunk` with every temporary in the scratch buffers and the result written into ``mel`` (a slice of
        the output). A ``contiguous`` slice (whole clips) takes each unpadded block's product straight into its
        columns; a slice of frames of every clip is strided, and the products are copied in. Medians of alternated
        calls, 2-core AMD EPYC: W2 (64 x 1 s) in 4 chunks of 16 clips 2.86 ms against 3.03 in 4 chunks of 24 frames;
        W1 (16 x 10 s, n_fft 2048) in 16 chunks of a clip 11.19 against 11.78 in 10 chunks of frames (11.72 against
        12.68 with AVX-512 off); 64 x 16 s at W2's settings 43.3 against 48.4."""
        scratch = self.scratch
        frames = signals.unfold(-1, frame_length, hop_length)
        device, dtype = frames.device, frames.dtype
        # two buffers, each reused once its content is dead (frames -> power, spectrum -> mel parts): the working
        # set stays as small as with fresh temporaries, which the allocator hands back still in the cache
        windowed = torch.mul(frames, window, out=scratch.view("a", frames.shape, dtype, device))
        spectrum_shape = (*frames.shape[:-1], n_fft // 2 + 1)
        spectrum = rfft(windowed, n_fft)  # fresh: MKL's out= variant computes, then copies
        squares = torch.view_as_real(spectrum).square_()
        spectrogram = torch.add(squares[..., 0], squares[..., 1], out=scratch.view("a", spectrum_shape, dtype, device))
        if power == 1.0:
            spectrogram = spectrogram.sqrt_()
        column = 0
        for start, stop, width, weights in blocks:
            if contiguous and width == weights.shape[-1]:  # rows of the output as a strided 2-D view: no copy
                torch.mm(spectrogram.view(-1, spectrum_shape[-1])[:, start:stop], weights,
                         out=mel.view(-1, mel.shape[-1])[:, column : column + width])
                column += width
                continue
            part = scratch.view("b", (*spectrum_shape[:-1], weights.shape[-1]), dtype, device)
            torch.matmul(spectrogram[..., start:stop], weights, out=part)
            mel[..., column : column + width].copy_(part[..., :width])
            column += width
        if amin is not None:
            mel.clamp_min_(amin).log10_().mul_(10.0)
